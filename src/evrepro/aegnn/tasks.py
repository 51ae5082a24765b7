"""What AEGNN's training does differently per task: the model, the samples, the loss and the validation score.

The training skeleton (``evrepro.aegnn.train``: checkpoints, resume, replicas, schedule) is the same for both; the
model configuration says which task a training is (``task_for``). A task's ``score`` is the history column that
picks the best checkpoint.
"""

import numpy as np
import torch
from torch_geometric.loader import DataLoader

from evrepro.aegnn.data import DetectionGraphDataset, GraphStoreDataset
from evrepro.aegnn.detector import GraphResDetector
from evrepro.aegnn.graph_res import GraphRes
from evrepro.aegnn.loop import run_batches
from evrepro.aegnn.presets import DetectorConfig, GraphResConfig
from evrepro.aegnn.yolo import decode, yolo_loss
from evrepro.detection.metrics import coco_scores
from evrepro.events.boxes import boxes_from_rows

# detections kept for scoring: every score above this (COCO ranks them), after class-agnostic NMS at this IoU
SCORE_THRESHOLD, NMS_IOU = 0.01, 0.6


class Classification:
    """GraphRes on labelled samples: cross-entropy; the best checkpoint has the best validation accuracy."""

    name, score, follow_batch = "classification", "val_accuracy", ()
    test_metric = "accuracy"  # what ``test_score`` gives

    @staticmethod
    def model(config: GraphResConfig) -> torch.nn.Module:
        return GraphRes(config)

    @staticmethod
    def dataset(cache_path, split: str, limit: int | None = None):
        return GraphStoreDataset(cache_path, split, limit)

    @staticmethod
    def step(model, batch) -> tuple[torch.Tensor, float]:
        """A batch's mean loss and how many of its samples the model got right."""
        logits = model(batch.x, batch.pos, batch.edge_index, batch.batch, batch.num_graphs)
        loss = torch.nn.functional.cross_entropy(logits, batch.y)
        return loss, float((logits.argmax(1) == batch.y).sum())

    @staticmethod
    def train_columns(loss: float, correct: float) -> dict:
        return {"train_loss": loss, "train_accuracy": correct}

    @staticmethod
    def validate(model, loader, device) -> dict:
        loss, accuracy, *_ = run_batches(model, loader, device)
        return {"val_loss": loss, "val_accuracy": accuracy}

    @staticmethod
    def test_score(model, loader, device) -> float:
        return run_batches(model, loader, device)[1]


class Detection:
    """GraphRes with a YOLO grid head on windows with boxes: YOLO's loss; the best checkpoint has the best COCO AP on
    the validation windows."""

    name, score, follow_batch = "detection", "val_coco_ap", ("bbox",)
    test_metric = "coco_ap50"  # what ``test_score`` gives

    @staticmethod
    def model(config: DetectorConfig) -> torch.nn.Module:
        return GraphResDetector(config)

    @staticmethod
    def dataset(cache_path, split: str, limit: int | None = None):
        return DetectionGraphDataset(cache_path, split, limit)

    @staticmethod
    def step(model, batch) -> tuple[torch.Tensor, float]:
        raw = model(batch.x, batch.pos, batch.edge_index, batch.batch, batch.num_graphs)
        return yolo_loss(raw, batch.bbox, batch.bbox_batch, model.grid)[0], 0.0

    @staticmethod
    def train_columns(loss: float, correct: float) -> dict:
        return {"train_loss": loss}

    @staticmethod
    def validate(model, loader, device) -> dict:
        frames, loss = detect(model, loader, device)
        scores = detector_coco_scores(model, frames)
        return {"val_loss": loss, "val_coco_ap": scores["coco_ap"] or 0.0, "val_coco_ap50": scores["coco_ap50"] or 0.0}

    @staticmethod
    def test_score(model, loader, device) -> float:
        return detector_coco_scores(model, detect(model, loader, device)[0])["coco_ap50"] or 0.0


def detector_coco_scores(model, frames) -> dict:
    """COCO's scores of a detector's frames (``detect``)."""
    classes = [str(k) for k in range(model.grid.num_classes)]  # COCO needs only the ids
    return coco_scores(frames, classes, model.grid.sensor_size)


def true_boxes(batch, k: int) -> np.ndarray:
    """The true boxes of sample ``k`` of a batch as ``BOX_DTYPE``, stamped with its label time."""
    return boxes_from_rows(batch.bbox[batch.bbox_batch == k].cpu().numpy(), int(batch.label_t[k]))


def detect(model, loader, device) -> tuple[list[tuple[np.ndarray, np.ndarray]], float]:
    """(true boxes, detections) of every sample the loader gives, and the mean loss."""
    model.eval()
    frames, loss_sum, seen = [], 0.0, 0
    with torch.no_grad():
        for batch in loader:
            batch = batch.to(device)
            raw = model(batch.x, batch.pos, batch.edge_index, batch.batch, batch.num_graphs)
            loss_sum += float(yolo_loss(raw, batch.bbox, batch.bbox_batch, model.grid)[0]) * batch.num_graphs
            seen += batch.num_graphs
            found = decode(raw, model.grid, SCORE_THRESHOLD, NMS_IOU, batch.label_t.cpu().numpy())
            frames += [(true_boxes(batch, k), found[k]) for k in range(batch.num_graphs)]
    return frames, loss_sum / max(seen, 1)


def task_for(model_config):
    """The task a model configuration trains for."""
    return Detection if isinstance(model_config, DetectorConfig) else Classification


def task_of(model: torch.nn.Module):
    """The task a built model does."""
    return Detection if isinstance(model, GraphResDetector) else Classification


def loader(task, dataset, **options) -> DataLoader:
    """A PyG loader of ``dataset`` that batches what ``task`` needs (the boxes' sample index for detection)."""
    return DataLoader(dataset, follow_batch=list(task.follow_batch), **options)
