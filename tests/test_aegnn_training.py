"""AEGNN training: resume after SIGKILL reproduces the uninterrupted run; evaluation writes its metrics."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import kill_when_written
from evrepro.aegnn.evaluate import evaluate_run
from evrepro.aegnn.graph_res import GraphResConfig
from evrepro.aegnn.train import TrainConfig, lr_factor, train_run
from evrepro.graphs.params import GraphParams
from evrepro.graphs.store import build_graph_store

MODEL = GraphResConfig(num_classes=10, sensor_size=(34, 34), edge_scale=3.0, pool_voxel=(8.0, 8.0))
TRAINING = TrainConfig(epochs=4, batch_size=8, warmup_epochs=1)


@pytest.fixture(scope="module")
def graphs(tiny_digits, tmp_path_factory):
    path = tmp_path_factory.mktemp("graphs") / "g.h5"
    build_graph_store(tiny_digits["store"], path, GraphParams(300, 3.0, 8, 3e-5), progress=False)
    return path


def test_learning_rate_warms_up_then_decays():
    assert [lr_factor(e, 5, 0.98) for e in (0, 5)] == [0.5, 1.0]
    assert lr_factor(7, 5, 0.98) == pytest.approx(0.98**2)


def test_a_killed_training_resumes_to_the_uninterrupted_result(graphs, tmp_path):
    train_run(graphs, tmp_path / "whole", MODEL, TRAINING, seed=0, progress=False, threads=1)

    script = (f"from evrepro.aegnn.train import *; from evrepro.aegnn.graph_res import GraphResConfig; "
              f"train_run({str(graphs)!r}, {str(tmp_path / 'killed')!r}, "
              f"GraphResConfig(num_classes=10, sensor_size=(34, 34), edge_scale=3.0, pool_voxel=(8.0, 8.0)), "
              f"TrainConfig(epochs=4, batch_size=8, warmup_epochs=1), seed=0, progress=False, threads=1)")
    last = tmp_path / "killed" / "checkpoints" / "last.pt"
    kill_when_written(script, last)
    checkpoint = torch.load(last, weights_only=False)
    interrupted_at = checkpoint["epoch"]
    assert interrupted_at < TRAINING.epochs - 1, "the kill came too late to test anything"
    assert not (tmp_path / "killed" / "model.json").exists()

    train_run(graphs, tmp_path / "killed", MODEL, TRAINING, seed=0, progress=False, threads=1)
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
    names = [str(d) for d in range(10)]
    assert evaluate_run(graphs, tmp_path / "whole", names) | {"train_wall_time_s": 0} == \
        evaluate_run(graphs, tmp_path / "killed", names) | {"train_wall_time_s": 0}


def test_evaluation_writes_metrics_and_a_confusion_matrix(graphs, tmp_path):
    train_run(graphs, tmp_path, MODEL, TrainConfig(epochs=1, batch_size=8), seed=3, progress=False,
              threads=1)
    metrics = evaluate_run(graphs, tmp_path, [str(d) for d in range(10)])
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk == metrics and metrics["parameters"] == sum(
        p.numel() for p in torch.load(tmp_path / "checkpoints/best.pt", weights_only=False)["model"].values()
        if p.dtype.is_floating_point) - 2 * sum(MODEL.channels[1:])  # minus BatchNorm running statistics
    confusion = pd.read_csv(tmp_path / "confusion.csv", index_col=0)
    assert confusion.values.sum() == metrics["test_samples"]
    assert np.trace(confusion.values) / metrics["test_samples"] == pytest.approx(metrics["test_accuracy"])
    assert 0 <= metrics["test_accuracy"] <= metrics["test_top3_accuracy"] <= 1
