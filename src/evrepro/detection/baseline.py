"""The trivial detector every detection result is shown beside: it ignores the events.

For each class of the training boxes it always predicts that class's mean box (mean corner and size), scored by the
class's share of the training boxes. A model that learned anything from the events scores clearly above it.
"""

import numpy as np

from evrepro.events.boxes import BOX_DTYPE


def constant_detections(train_boxes: np.ndarray) -> np.ndarray:
    """One detection per class present in ``train_boxes`` (``BOX_DTYPE``): its mean box, scored by its share."""
    classes = np.unique(train_boxes["class_id"])
    found = np.zeros(classes.size, BOX_DTYPE)
    for k, label in enumerate(classes):
        mine = train_boxes[train_boxes["class_id"] == label]
        for field in ("x", "y", "w", "h"):
            found[k][field] = mine[field].astype(np.float64).mean()
        found[k]["class_id"], found[k]["confidence"] = label, mine.size / train_boxes.size
    return found


def baseline_frames(frames, constant: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """``frames`` with every sample's detections replaced by ``constant``, stamped with the sample's time."""
    out = []
    for truth, _ in frames:
        found = constant.copy()
        found["t"] = truth["t"][0] if truth.size else 0
        out.append((truth, found))
    return out
