"""The best checkpoint of an AEGNN run, and its predictions on a split of its graph cache."""

from pathlib import Path

import torch
from torch_geometric.loader import DataLoader

from evrepro.aegnn.checkpoint import load_checkpoint
from evrepro.aegnn.data import GraphStoreDataset
from evrepro.aegnn.loop import pick_device, run_batches
from evrepro.aegnn.presets import DetectorConfig, GraphResConfig
from evrepro.aegnn.tasks import Detection, detect, loader, task_for
from evrepro.detection.baseline import constant_detections
from evrepro.graphs.detection_store import DetectionGraphStore
from evrepro.training.record import ModelRecord


def model_config(record_config: dict):
    """The model configuration a model.json records: a detector's or GraphRes's."""
    if record_config.get("task") == "detection":
        return DetectorConfig.from_dict(record_config)
    return GraphResConfig.from_dict(record_config)


def load_best(cache_path, best_path, record: ModelRecord, threads: int | None = None, device: str = "auto"):
    """The best-on-validation model of a run in eval mode, and its {"epoch", <the task's score>}.

    ``record`` is the run's model.json (``ModelRecord``); ``threads`` sets torch's CPU threads.
    """
    if threads:
        torch.set_num_threads(threads)
    device = pick_device(device)
    config = model_config(record.config)
    task = task_for(config)
    model = task.model(config)
    best = load_checkpoint(Path(best_path), device)
    model.load_state_dict(best["model"])
    return model.to(device).eval(), {"epoch": best["epoch"], task.score: best[task.score]}


def predict(model, cache_path, split: str = "test"):
    """(scores, labels, mean loss) of a split."""
    device = next(model.parameters()).device
    loss, _, scores, labels = run_batches(model, DataLoader(GraphStoreDataset(cache_path, split), batch_size=64),
                                          device)
    return scores, labels, loss


def predict_detections(model, cache_path, split: str = "test"):
    """(frames [(true boxes, detections)], recording id per frame, mean loss, the trivial baseline's detections)."""
    device = next(model.parameters()).device
    frames, loss = detect(model, loader(Detection, Detection.dataset(cache_path, split), batch_size=64), device)
    with DetectionGraphStore(cache_path) as store:
        return frames, store.recordings(split), loss, constant_detections(store.split_boxes("train"))
