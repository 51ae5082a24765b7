"""Greedy non-maximum suppression over one sample's detections (class-agnostic, as AEGNN's torchvision call was).

Written here rather than taken from torchvision: that package would add a second compiled torch extension (pinned to
the exact torch build) for fifteen lines of numpy; tests/test_detection_head.py checks it against a brute force.
"""

import numpy as np


def box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one box with each of ``others`` (all ``BOX_DTYPE``: top-left x, y and w, h)."""
    x0 = np.maximum(box["x"], others["x"])
    y0 = np.maximum(box["y"], others["y"])
    x1 = np.minimum(box["x"] + box["w"], others["x"] + others["w"])
    y1 = np.minimum(box["y"] + box["h"], others["y"] + others["h"])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = box["w"] * box["h"] + others["w"] * others["h"] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def nms(detections: np.ndarray, iou_threshold: float) -> np.ndarray:
    """The detections kept, by decreasing ``confidence``: each one overlapping no higher-scored kept one by more
    than ``iou_threshold`` (IoU > threshold suppresses, as torchvision's ``nms``)."""
    order = detections[np.argsort(-detections["confidence"], kind="stable")]
    kept = []
    for i in range(order.size):
        if not kept or not (box_iou(order[i], order[kept]) > iou_threshold).any():
            kept.append(i)
    return order[kept]
