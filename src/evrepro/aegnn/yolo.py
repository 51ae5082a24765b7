"""AEGNN's detection head: GraphRes's linear head read as a YOLO grid, one box per cell, with its loss and decoding.

The head's ``(5 + C) · cells`` outputs are, per cell of a ``cells[0] × cells[1]`` grid over the sensor (8 × 6 in
AEGNN's detection model), the box centre's offset within the cell (x, y), the square roots of the box's width and
height as fractions of the sensor's, the confidence, then C class logits. Offsets, roots and confidence go through a
sigmoid (the original clamped them at 0, which leaves them unbounded above and without gradient below).

The loss is YOLOv1's, with AEGNN's weights: for the cell holding a true box's *centre* (the original used the cell of
its top-left corner, which misplaces every box by half its size), ``coord_weight`` × the squared errors of the
offsets and of the roots, the squared error of the confidence against the IoU of the predicted box with the true
one, and ``class_weight`` × the cross-entropy of the class; for every other cell ``noobj_weight`` × its confidence
squared. Summed over the cells, averaged over the samples. Two true boxes in one cell: the later one is its target.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from evrepro.detection.nms import nms
from evrepro.events.boxes import BOX_DTYPE


@dataclass(frozen=True)
class YoloGrid:
    """The grid, the classes, the sensor and the loss weights of a detection head."""

    num_classes: int
    sensor_size: tuple[int, int]  # (width, height)
    cells: tuple[int, int] = (8, 6)  # along (width, height)
    coord_weight: float = 2.0
    noobj_weight: float = 0.5
    class_weight: float = 1.0

    @property
    def outputs(self) -> int:
        """Width of the network's head."""
        return (5 + self.num_classes) * self.cells[0] * self.cells[1]

    @property
    def cell_size(self) -> tuple[float, float]:
        return self.sensor_size[0] / self.cells[0], self.sensor_size[1] / self.cells[1]


def read_head(raw: Tensor, grid: YoloGrid) -> dict[str, Tensor]:
    """The head's outputs (N, outputs) per cell (N, rows, columns, ...): ``offset`` (x, y), ``root`` (√w, √h as
    fractions of the sensor), ``confidence`` and class ``logits``."""
    cells = raw.view(raw.shape[0], grid.cells[1], grid.cells[0], 5 + grid.num_classes)
    return {"offset": torch.sigmoid(cells[..., 0:2]), "root": torch.sigmoid(cells[..., 2:4]),
            "confidence": torch.sigmoid(cells[..., 4]), "logits": cells[..., 5:]}


def corners(centre: Tensor, size: Tensor) -> Tensor:
    """(x0, y0, x1, y1) from centres and sizes, last dimension 2 each."""
    return torch.cat([centre - size / 2, centre + size / 2], dim=-1)


def pixel_boxes(head: dict[str, Tensor], grid: YoloGrid) -> tuple[Tensor, Tensor]:
    """Every cell's predicted box as (centre, size) in pixels, each (N, rows, columns, 2)."""
    rows, columns = grid.cells[1], grid.cells[0]
    cell = head["offset"].new_tensor(grid.cell_size)
    index = torch.stack(torch.meshgrid(torch.arange(columns), torch.arange(rows), indexing="xy"), dim=-1)
    centre = (index.to(head["offset"]) + head["offset"]) * cell
    size = head["root"] ** 2 * head["offset"].new_tensor(grid.sensor_size)
    return centre, size


def iou_corners(a: Tensor, b: Tensor) -> Tensor:
    """IoU of corner boxes, elementwise over the leading dimensions."""
    low, high = torch.maximum(a[..., :2], b[..., :2]), torch.minimum(a[..., 2:], b[..., 2:])
    inter = (high - low).clamp(min=0).prod(-1)
    union = (a[..., 2:] - a[..., :2]).prod(-1) + (b[..., 2:] - b[..., :2]).prod(-1) - inter
    return inter / union.clamp(min=1e-9)


def targets(boxes: Tensor, box_sample: Tensor, num_samples: int, grid: YoloGrid) -> dict[str, Tensor]:
    """The training targets of true boxes (K, 5: x, y, w, h, class; ``box_sample`` their sample): per cell whether it
    holds a box centre (``object``), the target ``offset``, ``root``, ``class`` and the box's ``corners``."""
    rows, columns = grid.cells[1], grid.cells[0]
    cell = boxes.new_tensor(grid.cell_size)
    centre = boxes[:, 0:2] + boxes[:, 2:4] / 2
    position = centre / cell
    column = position[:, 0].floor().long().clamp(0, columns - 1)
    row = position[:, 1].floor().long().clamp(0, rows - 1)
    where = (box_sample, row, column)
    out = {"object": boxes.new_zeros((num_samples, rows, columns), dtype=torch.bool),
           "offset": boxes.new_zeros((num_samples, rows, columns, 2)),
           "root": boxes.new_zeros((num_samples, rows, columns, 2)),
           "class": boxes.new_zeros((num_samples, rows, columns), dtype=torch.long),
           "corners": boxes.new_zeros((num_samples, rows, columns, 4))}
    out["object"][where] = True
    out["offset"][where] = (position - torch.stack([column, row], dim=1).to(position)).clamp(0, 1)
    out["root"][where] = (boxes[:, 2:4] / boxes.new_tensor(grid.sensor_size)).clamp(0, 1).sqrt()
    out["class"][where] = boxes[:, 4].long()
    out["corners"][where] = corners(centre, boxes[:, 2:4])
    return out


def yolo_loss(raw: Tensor, boxes: Tensor, box_sample: Tensor, grid: YoloGrid) -> tuple[Tensor, dict[str, float]]:
    """The loss of a batch (mean over its samples) and its terms."""
    head, target = read_head(raw, grid), targets(boxes, box_sample, raw.shape[0], grid)
    centre, size = pixel_boxes(head, grid)
    has = target["object"]
    with torch.no_grad():
        overlap = iou_corners(corners(centre, size), target["corners"])
    terms = {
        "coord": grid.coord_weight * (((head["offset"] - target["offset"]) ** 2).sum(-1)[has].sum()
                                      + ((head["root"] - target["root"]) ** 2).sum(-1)[has].sum()),
        "object": ((head["confidence"] - overlap) ** 2)[has].sum(),
        "no_object": grid.noobj_weight * (head["confidence"] ** 2)[~has].sum(),
        "class": grid.class_weight * torch.nn.functional.cross_entropy(head["logits"][has], target["class"][has],
                                                                       reduction="sum"),
    }
    n = raw.shape[0]
    return sum(terms.values()) / n, {name: float(value.detach()) / n for name, value in terms.items()}


def decode(raw: Tensor, grid: YoloGrid, score_threshold: float, iou_threshold: float,
           label_times=None) -> list[np.ndarray]:
    """Each sample's detections (``BOX_DTYPE``, ``confidence`` = box confidence × class probability, the box clipped
    to the sensor) with a score above ``score_threshold``, after NMS at ``iou_threshold``; stamped with the
    sample's ``label_times`` when given."""
    with torch.no_grad():
        head = read_head(raw, grid)
        centre, size = pixel_boxes(head, grid)
        probability, label = torch.softmax(head["logits"], dim=-1).max(dim=-1)
        score = (head["confidence"] * probability).flatten(1).cpu().numpy()
        box = corners(centre, size).flatten(1, 2).cpu().numpy()
        label = label.flatten(1).cpu().numpy()
    width, height = grid.sensor_size
    samples = []
    for k in range(raw.shape[0]):
        keep = np.flatnonzero(score[k] > score_threshold)
        x0, y0 = np.clip(box[k, keep, 0], 0, width), np.clip(box[k, keep, 1], 0, height)
        x1, y1 = np.clip(box[k, keep, 2], 0, width), np.clip(box[k, keep, 3], 0, height)
        found = np.zeros(keep.size, BOX_DTYPE)
        found["x"], found["y"], found["w"], found["h"] = x0, y0, x1 - x0, y1 - y0
        found["class_id"], found["confidence"] = label[k, keep], score[k, keep]
        found["t"] = label_times[k] if label_times is not None else 0
        samples.append(nms(found, iou_threshold))
    return samples
