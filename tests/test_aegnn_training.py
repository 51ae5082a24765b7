"""AEGNN training: resume after SIGKILL reproduces the uninterrupted run; evaluation writes its metrics."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import kill_when_written
from evrepro.aegnn.family import FAMILY
from evrepro.aegnn.presets import PRESET_LAYERS
from evrepro.aegnn.train import lr_factor
from evrepro.graphs.params import GraphParams
from evrepro.graphs.store import build_graph_store
from training import evaluate, train

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
    train(FAMILY, graphs, tmp_path / "whole", NETWORK, TRAINING)

    script = (f"from training import train; from evrepro.aegnn.family import FAMILY; "
              f"from test_aegnn_training import NETWORK, TRAINING; "
              f"train(FAMILY, {str(graphs)!r}, {str(tmp_path / 'killed')!r}, NETWORK, TRAINING)")
    last = tmp_path / "killed" / "checkpoints" / "last.pt"
    kill_when_written(script, last, cwd=Path(__file__).parent)
    checkpoint = torch.load(last, weights_only=False)
    interrupted_at = checkpoint["epoch"]
    assert interrupted_at < TRAINING["epochs"] - 1, "the kill came too late to test anything"
    assert not (tmp_path / "killed" / "model.json").exists()

    train(FAMILY, graphs, tmp_path / "killed", NETWORK, TRAINING)
    whole = pd.read_csv(tmp_path / "whole" / "history.csv").drop(columns="seconds")
    resumed = pd.read_csv(tmp_path / "killed" / "history.csv")
    # the epochs before the kill were not trained again: their timings are the killed run's own
    assert resumed["seconds"].iloc[: interrupted_at + 1].tolist() == [row["seconds"] for row in checkpoint["history"]]
    resumed = resumed.drop(columns="seconds")
    pd.testing.assert_frame_equal(whole, resumed)
    a = torch.load(tmp_path / "whole" / "checkpoints" / "best.pt", weights_only=False)
    b = torch.load(tmp_path / "killed" / "checkpoints" / "best.pt", weights_only=False)
    assert a["epoch"] == b["epoch"]
    for name, tensor in a["model"].items():
        torch.testing.assert_close(b["model"][name], tensor, rtol=0, atol=0)
    assert json.loads((tmp_path / "killed" / "model.json").read_text())["compute"]["jobs"] == 2
    assert evaluate(FAMILY, graphs, tmp_path / "whole") | {"train_wall_time_s": 0} == \
        evaluate(FAMILY, graphs, tmp_path / "killed") | {"train_wall_time_s": 0}


def test_evaluation_writes_metrics_and_a_confusion_matrix(graphs, tmp_path):
    train(FAMILY, graphs, tmp_path, NETWORK, {**TRAINING, "epochs": 1}, seed=3)
    metrics = evaluate(FAMILY, graphs, tmp_path)
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    channels = PRESET_LAYERS["ncars"]["channels"]
    assert on_disk == metrics and metrics["parameters"] == sum(
        p.numel() for p in torch.load(tmp_path / "checkpoints/best.pt", weights_only=False)["model"].values()
        if p.dtype.is_floating_point) - 2 * sum(channels[1:])  # minus BatchNorm running statistics
    record = json.loads((tmp_path / "model.json").read_text())
    assert record["non_trainable_parameters"] == 2 * sum(channels[1:]) and record["threads"] == 1
    confusion = pd.read_csv(tmp_path / "confusion.csv", index_col=0)
    assert confusion.values.sum() == metrics["test_samples"]
    assert np.trace(confusion.values) / metrics["test_samples"] == pytest.approx(metrics["test_accuracy"])
    assert 0 <= metrics["test_accuracy"] <= metrics["test_top3_accuracy"] <= 1
