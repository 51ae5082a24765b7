"""AEGNN's YOLO grid head: targets, decoding, the loss (it fits boxes when optimised) and NMS."""

import numpy as np
import pytest
import torch

from evrepro.aegnn.yolo import YoloGrid, decode, read_head, targets, yolo_loss
from evrepro.detection.nms import box_iou, nms
from test_detection_metrics import boxes

GRID = YoloGrid(num_classes=2, sensor_size=(64, 48))  # 8 × 6 cells of 8 × 8 pixels


def logit(p):
    return float(np.log(p / (1 - p)))


def encoded(truth: torch.Tensor) -> torch.Tensor:
    """Raw head outputs that say exactly ``truth`` (K, 5) for one sample, every other cell empty."""
    raw = torch.full((1, 6, 8, 7), -12.0)
    for x, y, w, h, c in truth.tolist():
        cx, cy = (x + w / 2) / 8, (y + h / 2) / 8
        column, row = int(cx), int(cy)
        raw[0, row, column, :5] = torch.tensor([logit(cx - column), logit(cy - row), logit((w / 64) ** 0.5),
                                                logit((h / 48) ** 0.5), 12.0])
        raw[0, row, column, 5 + int(c)] = 12.0
    return raw.flatten(1)


def test_a_box_is_assigned_to_the_cell_of_its_centre():
    truth = torch.tensor([[10.0, 20.0, 20.0, 10.0, 1.0]])  # centre (20, 25): column 2, row 3
    target = targets(truth, torch.tensor([0]), 1, GRID)
    assert target["object"].nonzero().tolist() == [[0, 3, 2]]
    assert target["offset"][0, 3, 2].tolist() == pytest.approx([0.5, 0.125])
    assert target["root"][0, 3, 2].tolist() == pytest.approx([(20 / 64) ** 0.5, (10 / 48) ** 0.5])
    assert target["class"][0, 3, 2] == 1 and target["corners"][0, 3, 2].tolist() == [10, 20, 30, 30]


def test_decoding_returns_the_encoded_boxes_with_their_scores():
    truth = torch.tensor([[10.0, 20.0, 20.0, 10.0, 1.0], [40.0, 2.0, 12.0, 30.0, 0.0]])
    [found] = decode(encoded(truth), GRID, score_threshold=0.5, iou_threshold=0.6, label_times=[700_000])
    found = found[np.argsort(found["x"])]
    assert found["x"].tolist() == pytest.approx([10, 40], abs=1e-3) and found["y"].tolist() == pytest.approx(
        [20, 2], abs=1e-3)
    assert found["w"].tolist() == pytest.approx([20, 12], abs=1e-3) and found["h"].tolist() == pytest.approx(
        [10, 30], abs=1e-3)
    assert found["class_id"].tolist() == [1, 0] and (found["t"] == 700_000).all()
    assert found["confidence"] == pytest.approx(1.0, abs=1e-4)
    assert decode(encoded(truth), GRID, score_threshold=0.999999, iou_threshold=0.6)[0].size == 0


def test_the_loss_is_near_zero_for_the_truth_and_grows_with_the_error():
    truth = torch.tensor([[10.0, 20.0, 20.0, 10.0, 1.0]])
    exact, terms = yolo_loss(encoded(truth), truth, torch.tensor([0]), GRID)
    assert float(exact) < 1e-3 and set(terms) == {"coord", "object", "no_object", "class"}
    moved = torch.tensor([[13.0, 20.0, 20.0, 10.0, 1.0]])
    assert float(yolo_loss(encoded(moved), truth, torch.tensor([0]), GRID)[0]) > 100 * float(exact)
    wrong_class = torch.tensor([[10.0, 20.0, 20.0, 10.0, 0.0]])
    assert float(yolo_loss(encoded(wrong_class), truth, torch.tensor([0]), GRID)[1]["class"]) > 10


def test_optimising_the_loss_fits_the_true_boxes():
    torch.manual_seed(0)
    truth = torch.tensor([[4.0, 6.0, 24.0, 12.0, 0.0], [40.0, 10.0, 8.0, 30.0, 1.0], [30.0, 30.0, 18.0, 9.0, 0.0]])
    box_sample = torch.tensor([0, 0, 1])
    raw = torch.zeros((2, GRID.outputs), requires_grad=True)
    optimiser = torch.optim.Adam([raw], lr=0.1)
    for _ in range(400):
        optimiser.zero_grad()
        loss, _ = yolo_loss(raw, truth, box_sample, GRID)
        loss.backward()
        optimiser.step()
    found = decode(raw.detach(), GRID, score_threshold=0.3, iou_threshold=0.6)
    for k, sample_truth in enumerate([truth[:2], truth[2:]]):
        expected = boxes(*[(0, *box[:4], box[4]) for box in sample_truth.tolist()])
        assert found[k].size == len(expected)
        for box in expected:
            assert box_iou(box, found[k][found[k]["class_id"] == box["class_id"]]).max() > 0.9
    assert read_head(raw.detach(), GRID)["confidence"].flatten().sort().values[-4] < 0.1  # three cells hold boxes


def brute_force_nms(found: np.ndarray, threshold: float) -> list[int]:
    """Indices kept, from the pairwise IoU matrix: walk by decreasing score, keep what no kept box overlaps."""
    order = sorted(range(found.size), key=lambda i: -found[i]["confidence"])
    kept = []
    for i in order:
        overlaps = []
        for j in kept:
            a, b = found[i], found[j]
            w = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
            h = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
            inter = max(w, 0) * max(h, 0)
            overlaps.append(inter / (a["w"] * a["h"] + b["w"] * b["h"] - inter))
        if all(o <= threshold for o in overlaps):
            kept.append(i)
    return kept


def test_nms_keeps_what_no_higher_scored_kept_box_overlaps():
    # B overlaps A (IoU 0.82) and is suppressed; C overlaps B (0.82) but not A much (0.67): C stays
    chain = boxes((0, 0, 0, 10, 10, 0, 0.9), (0, 1, 0, 10, 10, 0, 0.8), (0, 2, 0, 10, 10, 1, 0.7))
    assert nms(chain, 0.7)["confidence"].tolist() == pytest.approx([0.9, 0.7])
    rng = np.random.default_rng(0)
    for _ in range(20):
        found = boxes(*[(0, *rng.uniform(0, 40, 2), *rng.uniform(5, 20, 2), 0, rng.random()) for _ in range(30)])
        assert nms(found, 0.5)["confidence"].tolist() == found[brute_force_nms(found, 0.5)]["confidence"].tolist()
