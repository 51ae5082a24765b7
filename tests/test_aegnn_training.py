"""AEGNN training: resume after SIGKILL or a signal mid-epoch reproduces the uninterrupted run; evaluation writes
its metrics. Data-parallel training: test_aegnn_replicas.py."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import kill_when_written
from torch_geometric.loader import DataLoader
from training import evaluate, train

from evrepro.aegnn.family import TRAINER
from evrepro.aegnn.presets import PRESET_LAYERS
from evrepro.aegnn.train import epoch_order, lr_factor
from evrepro.graphs.params import GraphParams
from evrepro.graphs.store import GraphStore, build_graph_store

NETWORK = {"preset": "ncars", "pool_voxel": [8, 8]}
TRAINING = {"epochs": 4, "batch_size": 8, "warmup_epochs": 1}


@pytest.fixture(scope="module")
def graphs(tiny_digits, tmp_path_factory):
    path = tmp_path_factory.mktemp("graphs") / "g.h5"
    build_graph_store(tiny_digits["store"], path, GraphParams(300, 3.0, 8, 3e-5), progress=False)
    return path


def test_learning_rate_warms_up_then_decays():
    assert [lr_factor(e, 5, 0.98) for e in (0, 5)] == [0.5, 1.0]
    assert lr_factor(7, 5, 0.98) == pytest.approx(0.98**2)


def test_a_killed_training_resumes_to_the_uninterrupted_result(graphs, tmp_path):
    train(TRAINER, graphs, tmp_path / "whole", NETWORK, TRAINING)

    script = (f"from training import train; from evrepro.aegnn.family import TRAINER; "
              f"from test_aegnn_training import NETWORK, TRAINING; "
              f"train(TRAINER, {str(graphs)!r}, {str(tmp_path / 'killed')!r}, NETWORK, TRAINING)")
    last = tmp_path / "killed" / "checkpoints" / "last.pt"
    kill_when_written(script, last, cwd=Path(__file__).parent)
    checkpoint = torch.load(last, weights_only=True)
    assert checkpoint["position"]["batch"] == 0 and checkpoint["partial"] is None  # an epoch's end
    interrupted_at = checkpoint["position"]["epoch"] - 1
    assert interrupted_at < TRAINING["epochs"] - 1, "the kill came too late to test anything"
    assert not (tmp_path / "killed" / "model.json").exists()

    train(TRAINER, graphs, tmp_path / "killed", NETWORK, TRAINING)
    whole = pd.read_csv(tmp_path / "whole" / "history.csv").drop(columns="seconds")
    resumed = pd.read_csv(tmp_path / "killed" / "history.csv")
    # the epochs before the kill were not trained again: their timings are the killed run's own
    assert resumed["seconds"].iloc[: interrupted_at + 1].tolist() == [row["seconds"] for row in checkpoint["history"]]
    resumed = resumed.drop(columns="seconds")
    pd.testing.assert_frame_equal(whole, resumed)
    a = torch.load(tmp_path / "whole" / "checkpoints" / "best.pt", weights_only=True)
    b = torch.load(tmp_path / "killed" / "checkpoints" / "best.pt", weights_only=True)
    assert a["epoch"] == b["epoch"]
    for name, tensor in a["model"].items():
        torch.testing.assert_close(b["model"][name], tensor, rtol=0, atol=0)
    assert json.loads((tmp_path / "killed" / "model.json").read_text())["compute"]["jobs"] == 2
    assert evaluate(TRAINER, graphs, tmp_path / "whole") == \
        evaluate(TRAINER, graphs, tmp_path / "killed")


def test_the_epoch_order_is_the_shuffling_data_loaders():
    generator = torch.Generator().manual_seed(7 * 1_000_003 + 3)
    loader = DataLoader(list(range(37)), batch_size=37, shuffle=True, generator=generator)
    assert next(iter(loader)).tolist() == epoch_order(37, 7, 3)
    assert epoch_order(37, 7, 3) != epoch_order(37, 7, 4) and sorted(epoch_order(37, 7, 4)) == list(range(37))


def signalled_training(graphs, folder, signal_name: str, at_step: int, execution=None) -> subprocess.CompletedProcess:
    """Train in a fresh interpreter that sends itself ``signal_name`` during optimiser step ``at_step``."""
    script = (f"import os, signal, torch; from training import train; from evrepro.aegnn.family import TRAINER; "
              f"from evrepro.logs import logged; from test_aegnn_training import NETWORK, TRAINING\n"
              f"step, steps = torch.optim.Adam.step, [0]\n"
              f"def signalling(self, *args, **kwargs):\n"
              f"    steps[0] += 1\n"
              f"    if steps[0] == {at_step}: os.kill(os.getpid(), signal.{signal_name})\n"
              f"    return step(self, *args, **kwargs)\n"
              f"torch.optim.Adam.step = signalling\n"
              f"with logged(None):\n"
              f"    train(TRAINER, {str(graphs)!r}, {str(folder)!r}, NETWORK, TRAINING, execution={execution!r})")
    return subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parent, capture_output=True, text=True)


def assert_same_training(whole: Path, resumed: Path, atol: float = 0.0) -> None:
    """Two run folders hold the same history (timings aside) and the same best weights."""
    a, b = (pd.read_csv(folder / "history.csv").drop(columns="seconds") for folder in (whole, resumed))
    pd.testing.assert_frame_equal(a, b, atol=atol, rtol=0)
    a, b = (torch.load(folder / "checkpoints" / "best.pt", weights_only=True) for folder in (whole, resumed))
    assert a["epoch"] == b["epoch"]
    for name, tensor in a["model"].items():
        torch.testing.assert_close(b["model"][name], tensor, rtol=0, atol=atol)


def test_a_signal_mid_epoch_checkpoints_that_batch_and_the_rerun_ends_as_the_uninterrupted_one(graphs, tmp_path):
    train(TRAINER, graphs, tmp_path / "whole", NETWORK, TRAINING)
    stopped = signalled_training(graphs, tmp_path / "stopped", "SIGUSR1", at_step=11)
    assert stopped.returncode == 1
    last = tmp_path / "stopped" / "checkpoints" / "last.pt"
    line = stopped.stderr.strip().splitlines()[-1]
    assert line.startswith("error: training stopped by SIGUSR1 at epoch 1, batch ") and str(last) in line
    checkpoint = torch.load(last, weights_only=True)
    with GraphStore(graphs) as store:
        per_epoch = -(-store.num_samples("train") // TRAINING["batch_size"])
    assert 11 - per_epoch in range(1, per_epoch), "the signal must come mid-epoch"
    # the signal came during the 11th step: the checkpoint is at that batch, with the epoch's sums so far
    assert checkpoint["position"] == {"epoch": 1, "batch": 11 - per_epoch} and len(checkpoint["history"]) == 1
    assert checkpoint["partial"]["seen"] == (11 - per_epoch) * TRAINING["batch_size"]

    train(TRAINER, graphs, tmp_path / "stopped", NETWORK, TRAINING)
    assert_same_training(tmp_path / "whole", tmp_path / "stopped")


def test_a_checkpoint_every_few_minutes_resumes_mid_epoch(graphs, tmp_path):
    # a cadence shorter than a batch: a checkpoint after every batch, so a SIGKILL finds one mid-epoch
    script = (f"from training import train; from evrepro.aegnn.family import TRAINER; "
              f"from test_aegnn_training import NETWORK, TRAINING; "
              f"train(TRAINER, {str(graphs)!r}, {str(tmp_path / 'killed')!r}, NETWORK, TRAINING, "
              f"execution={{'checkpoint_minutes': 1e-9}})")
    last = tmp_path / "killed" / "checkpoints" / "last.pt"
    kill_when_written(script, last, cwd=Path(__file__).parent)
    position = torch.load(last, weights_only=True)["position"]
    assert position == {"epoch": 0, "batch": 1}
    train(TRAINER, graphs, tmp_path / "killed", NETWORK, TRAINING)
    train(TRAINER, graphs, tmp_path / "whole", NETWORK, TRAINING)
    assert_same_training(tmp_path / "whole", tmp_path / "killed")


def test_evaluation_writes_metrics_and_a_confusion_matrix(graphs, tmp_path):
    train(TRAINER, graphs, tmp_path, NETWORK, {**TRAINING, "epochs": 1}, seed=3)
    metrics = evaluate(TRAINER, graphs, tmp_path)
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    channels = PRESET_LAYERS["ncars"]["channels"]
    assert on_disk == metrics and metrics["parameters"] == sum(
        p.numel() for p in torch.load(tmp_path / "checkpoints/best.pt", weights_only=True)["model"].values()
        if p.dtype.is_floating_point) - 2 * sum(channels[1:])  # minus BatchNorm running statistics
    record = json.loads((tmp_path / "model.json").read_text())
    assert record["non_trainable_parameters"] == 2 * sum(channels[1:]) and record["threads"] == 1
    confusion = pd.read_csv(tmp_path / "confusion.csv", index_col=0)
    assert confusion.values.sum() == metrics["test_samples"]
    assert np.trace(confusion.values) / metrics["test_samples"] == pytest.approx(metrics["test_accuracy"])
    assert 0 <= metrics["test_accuracy"] <= metrics["test_top3_accuracy"] <= 1
