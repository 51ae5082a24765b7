"""ECN training: resume after SIGKILL reproduces the uninterrupted run; evaluation; the plateau schedule."""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import kill_when_written
from training import evaluate, train

from evrepro.ecn.checkpoint import load_arrays
from evrepro.ecn.family import TRAINER
from evrepro.ecn.train import Plateau
from evrepro.streams.params import PRESETS
from evrepro.streams.store import StreamStore, build_stream_store

pytestmark = pytest.mark.slow  # several trainings in fresh interpreters: minutes

NETWORK = {"preset": "digits", "filters0": 4, "vox_start": 0, "hidden_units": [16], "batchnorm_momentum": 0.9}
TRAINING = {"epochs": 4, "batch_size": 8, "lr": 3e-3, "plateau_patience": 1, "shuffle_buffer": 32}


@pytest.fixture(scope="module")
def streams(tiny_digits, tmp_path_factory):
    """Two augmented copies of the training split, so resuming must also pick the right copy."""
    path = tmp_path_factory.mktemp("streams") / "s.h5"
    params = replace(PRESETS["digits"], cache_repeats=2, flip_time=0.5, rotate_max=0.3)
    build_stream_store(tiny_digits["store"], path, params, progress=False)
    return path


def test_the_plateau_schedule_cuts_the_rate_after_patience_epochs_without_gain():
    plateau = Plateau(1e-3, patience=2, factor=0.2)
    for value in (0.5, 0.6, 0.6, 0.60005):  # the last gain is below min_delta 1e-4
        plateau.update(value)
    assert plateau.lr == pytest.approx(2e-4) and plateau.state["wait"] == 0
    plateau.update(0.7)
    assert plateau.state["best"] == 0.7 and plateau.lr == pytest.approx(2e-4)


def training_script(streams, run_dir, checkpoint_every=None) -> str:
    """Train NETWORK with TRAINING in a fresh interpreter, where TensorFlow's thread pools can still be set to one."""
    return (f"import logging; logging.basicConfig(level=logging.INFO); from training import train; "
            f"from evrepro.ecn.family import TRAINER; from test_ecn_training import NETWORK, TRAINING; "
            f"train(TRAINER, {str(streams)!r}, {str(run_dir)!r}, NETWORK, TRAINING, "
            f"execution={{'checkpoint_every_batches': {checkpoint_every}}})")


def run_training(streams, run_dir, checkpoint_every=None) -> str:
    result = subprocess.run([sys.executable, "-c", training_script(streams, run_dir, checkpoint_every)],
                            cwd=Path(__file__).parent, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr


@pytest.fixture(scope="module")
def uninterrupted(streams, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("whole")
    run_training(streams, run_dir)
    return run_dir


@pytest.mark.parametrize("checkpoint_every", [None, 2], ids=["at-epoch-ends", "mid-epoch"])
def test_a_killed_training_resumes_to_the_uninterrupted_result(streams, uninterrupted, tmp_path, checkpoint_every):
    last = tmp_path / "killed" / "checkpoints" / "last.npz"
    kill_when_written(training_script(streams, tmp_path / "killed", checkpoint_every), last, cwd=Path(__file__).parent)
    _, state = load_arrays(last)
    position = state["position"]
    if checkpoint_every:  # killed at its first checkpoint: two batches into epoch 0
        assert position == {"epoch": 0, "batch": 2, "copy": 0, "shuffle_seed": [0, 0]} and state["history"] == []
        assert state["partial"]["seen"] == 2 * TRAINING["batch_size"]
    else:
        assert position == {"epoch": len(state["history"]), "batch": 0, "copy": position["epoch"] % 2,
                            "shuffle_seed": [0, position["epoch"]]} and state["partial"] is None
        assert position["epoch"] < TRAINING["epochs"], "the kill came too late to test anything"
    assert not (tmp_path / "killed" / "model.json").exists()

    log = run_training(streams, tmp_path / "killed", checkpoint_every)
    assert f"resuming from {last} at epoch {position['epoch']}, batch {position['batch']}" in log
    whole = pd.read_csv(uninterrupted / "history.csv").drop(columns="seconds")
    resumed = pd.read_csv(tmp_path / "killed" / "history.csv")
    # the epochs before the kill were not trained again: their timings are the killed run's own
    done = len(state["history"])
    assert resumed["seconds"].iloc[:done].tolist() == [row["seconds"] for row in state["history"]]
    resumed = resumed.drop(columns="seconds")
    pd.testing.assert_frame_equal(whole, resumed)
    assert whole["lr"].nunique() > 1  # the plateau schedule acted, and was restored on resume
    a, state_a = load_arrays(uninterrupted / "checkpoints" / "best.npz")
    b, state_b = load_arrays(tmp_path / "killed" / "checkpoints" / "best.npz")
    assert state_a == state_b
    for key, array in a["weights"].items():
        np.testing.assert_array_equal(b["weights"][key], array)
    assert json.loads((tmp_path / "killed" / "model.json").read_text())["compute"]["jobs"] == 2
    assert evaluate(TRAINER, streams, uninterrupted) == \
        evaluate(TRAINER, streams, tmp_path / "killed")


def test_evaluation_writes_metrics_and_a_confusion_matrix_of_a_training_validated_as_ecn_s_n_mnist_was(
        streams, tmp_path):
    # validated on the test split (training.compat: validate_on_test): ECN's N-MNIST "validation" was its test split
    train(TRAINER, streams, tmp_path, NETWORK, {**TRAINING, "epochs": 1, "compat": ["validate_on_test"]}, seed=3)
    metrics = evaluate(TRAINER, streams, tmp_path)
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    description = json.loads((tmp_path / "model.json").read_text())
    assert metrics["family"] == "ecn" and metrics["parameters"] == description["parameters"] > 0
    assert description["non_trainable_parameters"] == 2 * (4 + 4 + 4 + 8 + 8 + 8 + 8 + 16 + 16 + 16 + 16 + 32 + 16)
    confusion = pd.read_csv(tmp_path / "confusion.csv", index_col=0)
    assert confusion.values.sum() == metrics["test_samples"]
    assert np.trace(confusion.values) / metrics["test_samples"] == pytest.approx(metrics["test_accuracy"])
    assert 0 <= metrics["test_accuracy"] <= metrics["test_top3_accuracy"] <= 1
    # the one epoch's "validation" is the test split's score of the weights then evaluated on it
    history = pd.read_csv(tmp_path / "history.csv")
    assert history["val_accuracy"].tolist() == [pytest.approx(metrics["test_accuracy"])]
    assert metrics["best_val_accuracy"] == pytest.approx(metrics["test_accuracy"])
    assert description["training"]["compat"] == ["validate_on_test"]
    assert "compat" not in TRAINER.train_config(**TRAINING).as_dict()  # trainings without it keep their identity
    with pytest.raises(ValueError, match=r"^training.compat: on_test is none of validate_on_test$"):
        TRAINER.train_config(**TRAINING, compat=["on_test"])


def stopping_script(streams, run_dir, signal_name: str, at_batch: int) -> str:
    """Train as ``training_script`` does, in an interpreter that sends itself ``signal_name`` during batch
    ``at_batch`` of the training (counted over every epoch)."""
    return (f"import os, signal; from evrepro.ecn.classifier import Classifier; from evrepro.logs import logged\n"
            f"step_for, batches = Classifier.train_step_for, [0]\n"
            f"def signalling(self, optimizer):\n"
            f"    step = step_for(self, optimizer)\n"
            f"    def counted(batch):\n"
            f"        batches[0] += 1\n"
            f"        if batches[0] == {at_batch}: os.kill(os.getpid(), signal.{signal_name})\n"
            f"        return step(batch)\n"
            f"    return counted\n"
            f"Classifier.train_step_for = signalling\n"
            f"with logged(None):\n"
            f"    exec({training_script(streams, run_dir)!r})")


def test_a_signal_mid_epoch_checkpoints_that_batch_and_the_rerun_ends_as_the_uninterrupted_one(
        streams, uninterrupted, tmp_path):
    with StreamStore(streams) as store:
        per_epoch = -(-store.num_samples("train") // store.copies("train") // TRAINING["batch_size"])
    at_batch = per_epoch + 2  # the second batch of epoch 1
    result = subprocess.run([sys.executable, "-c", stopping_script(streams, tmp_path / "stopped", "SIGTERM", at_batch)],
                            cwd=Path(__file__).parent, capture_output=True, text=True)
    last = tmp_path / "stopped" / "checkpoints" / "last.npz"
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: training stopped by SIGTERM at epoch 1, batch 2: its checkpoint {last} is written and the next run "
        "resumes from it")
    _, state = load_arrays(last)
    assert state["position"]["epoch"] == 1 and state["position"]["batch"] == 2 and len(state["history"]) == 1
    assert state["partial"]["seen"] == 2 * TRAINING["batch_size"]

    run_training(streams, tmp_path / "stopped")
    pd.testing.assert_frame_equal(pd.read_csv(uninterrupted / "history.csv").drop(columns="seconds"),
                                  pd.read_csv(tmp_path / "stopped" / "history.csv").drop(columns="seconds"))
    a, _ = load_arrays(uninterrupted / "checkpoints" / "best.npz")
    b, _ = load_arrays(tmp_path / "stopped" / "checkpoints" / "best.npz")
    for key, array in a["weights"].items():
        np.testing.assert_array_equal(b["weights"][key], array)


def test_two_mirrored_replicas_train_as_one_with_the_same_global_batch(streams, tmp_path):
    # tf.distribute.MirroredStrategy over two logical CPU devices, as over two GPUs: shards of every global batch,
    # BatchNorm synchronised. Without dropout (each replica would draw its own masks) the trainings agree up to
    # float32 rounding, which Keras' synchronised BatchNorm (variance as E[x²] - E[x]²) raises to ~1e-4 of a
    # gradient: observed after 2 epochs, 1.1e-3 in a loss and 6e-3 in a weight. One epoch is tested: every step of
    # it synchronises the replicas' gradients and BatchNorm statistics, as the second would.
    network, training = {**NETWORK, "dropout_rate": 0.0}, {**TRAINING, "epochs": 1}
    histories = {}
    for name, execution in (("one", {}), ("two", {"replicas": 2})):
        script = (f"from training import train; from evrepro.ecn.family import TRAINER; "
                  f"train(TRAINER, {str(streams)!r}, {str(tmp_path / name)!r}, {network!r}, {training!r}, "
                  f"execution={execution!r})")
        result = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parent, capture_output=True,
                                text=True)
        assert result.returncode == 0, result.stderr[-2000:]
        histories[name] = pd.read_csv(tmp_path / name / "history.csv").drop(columns="seconds")
    pd.testing.assert_frame_equal(histories["one"], histories["two"], atol=5e-3, rtol=0)
    a, _ = load_arrays(tmp_path / "one" / "checkpoints" / "best.npz")
    b, _ = load_arrays(tmp_path / "two" / "checkpoints" / "best.npz")
    assert a["weights"].keys() == b["weights"].keys()
    for key, array in a["weights"].items():
        np.testing.assert_allclose(b["weights"][key], array, atol=2e-2, rtol=0)

