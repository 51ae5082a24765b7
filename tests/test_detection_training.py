"""AEGNN's detection model trained through the shared stages on the embedded detection set: it beats the trivial
baseline, resumes exactly, and its parameter count is known in closed form."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from traffic_data import build_traffic
from training import evaluate, train

from evrepro.aegnn.detection_family import TRAINER, model_config
from evrepro.aegnn.detector import GraphResDetector
from evrepro.aegnn.presets import parameter_counts
from evrepro.graphs.detection_params import PRESETS
from evrepro.graphs.detection_store import DetectionGraphStore, build_detection_graph_store

NETWORK = {"preset": "ncars", "pool_voxel": [4, 4]}
TRAINING = {"epochs": 6, "batch_size": 16}
GENERATOR = {"seed": 1, "train_recordings": 16, "val_recordings": 3, "test_recordings": 4, "duration_ms": 1500.0}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = build_traffic(tmp_path_factory.mktemp("traffic"), GENERATOR)
    build_detection_graph_store(root / "traffic.h5", root / "graphs.h5", PRESETS["traffic"], progress=False)
    return root / "graphs.h5"


def test_the_detector_learns_to_find_the_objects(cache, tmp_path):
    trained = train(TRAINER, cache, tmp_path, NETWORK, TRAINING, threads=2)
    assert [row["epoch"] for row in trained.history] == list(range(6))
    assert set(trained.history[0]) == {"epoch", "lr", "train_loss", "val_loss", "val_coco_ap", "val_coco_ap50",
                                       "seconds"}
    metrics = evaluate(TRAINER, cache, tmp_path)
    scores, baseline = metrics["scores"], metrics["baseline"]
    assert set(scores) == set(baseline) == {"coco_ap", "coco_ap50", "gen1_ap", "gen1_ap50", "per_sample_map"}
    # clearly above the detector that ignores the events, under every definition
    assert scores["coco_ap50"] > 0.15 and scores["coco_ap50"] > 3 * baseline["coco_ap50"], (scores, baseline)
    assert scores["coco_ap"] > 2 * baseline["coco_ap"] and 0 <= scores["per_sample_map"] <= 1
    # the time-matched frames are the samples here (one window per labelled time, labels 100 ms apart)
    assert scores["gen1_ap"] == pytest.approx(scores["coco_ap"])
    assert metrics["best_val_coco_ap"] == max(row["val_coco_ap"] for row in trained.history)
    saved = np.load(tmp_path / "detections.npz", allow_pickle=False)
    with DetectionGraphStore(cache) as store:
        assert metrics["test_samples"] == store.num_samples("test") == saved["recording"].size
        assert saved["truth_offsets"][-1] == store.handle["test"]["box_x"].shape[0]
        first = store.sample("test", 0)
    truth = saved["truth"][: saved["truth_offsets"][1]]
    np.testing.assert_array_equal(truth["x"], first["boxes"][:, 0])
    assert (truth["t"] == first["label_t"]).all() and saved["recording"][0] == first["recording"]
    found = saved["found"]
    assert found.size > 0 and (found["confidence"] > 0.01).all()


def test_more_epochs_extend_a_detection_training_exactly(cache, tmp_path):
    short = {**TRAINING, "epochs": 2, "max_train_samples": 64}
    train(TRAINER, cache, tmp_path / "whole", NETWORK, {**short, "epochs": 3})
    train(TRAINER, cache, tmp_path / "extended", NETWORK, short)
    train(TRAINER, cache, tmp_path / "extended", NETWORK, {**short, "epochs": 3})
    whole, extended = (pd.read_csv(tmp_path / name / "history.csv").drop(columns="seconds")
                       for name in ("whole", "extended"))
    pd.testing.assert_frame_equal(whole, extended)
    a, b = (torch.load(tmp_path / name / "checkpoints/last.pt", weights_only=True)["model"]
            for name in ("whole", "extended"))
    assert all(torch.equal(a[key], b[key]) for key in a)


@pytest.mark.parametrize("head", ["grid", "original"])
def test_the_parameter_count_in_closed_form_is_the_model_s(cache, head):
    config = model_config(cache, {**NETWORK, "head": head})
    model = GraphResDetector(config)
    trainable = sum(p.numel() for p in model.parameters())
    statistics = sum(b.numel() for name, b in model.named_buffers() if name.endswith(("running_mean", "running_var")))
    assert parameter_counts(config) == {"trainable": trainable, "non_trainable": statistics}
    assert parameter_counts(replace(config, backbone=replace(config.backbone, fc_bias=False)))["trainable"] == (
        trainable - (336 if head == "original" else 7))
    raw = model(torch.ones(5, 1), torch.rand(5, 3) * 40, torch.zeros(2, 0, dtype=torch.long),
                torch.zeros(5, dtype=torch.long), 1)
    assert raw.shape == (1, 336)  # (5 + 2 classes) × 8 × 6 cells, whichever head
