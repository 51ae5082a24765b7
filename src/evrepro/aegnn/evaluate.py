"""The best checkpoint of an AEGNN run, and its predictions on a split of the graph cache."""

from pathlib import Path

import torch
from torch_geometric.loader import DataLoader

from evrepro.aegnn.data import GraphStoreDataset
from evrepro.aegnn.graph_res import GraphRes
from evrepro.aegnn.loop import pick_device, run_batches
from evrepro.aegnn.presets import GraphResConfig
from evrepro.training.record import ModelRecord


def load_best(cache_path, best_path, record: ModelRecord, threads: int | None = None, device: str = "auto"):
    """The best-on-validation GraphRes of a run in eval mode, and its {"epoch", "val_accuracy"}.

    ``record`` is the run's model.json (``ModelRecord``); ``threads`` sets torch's CPU threads.
    """
    if threads:
        torch.set_num_threads(threads)
    device = pick_device(device)
    model = GraphRes(GraphResConfig.from_dict(record.config))
    best = torch.load(Path(best_path), map_location=device, weights_only=False)
    model.load_state_dict(best["model"])
    return model.to(device).eval(), {"epoch": best["epoch"], "val_accuracy": best["val_accuracy"]}


def predict(model, cache_path, split: str = "test"):
    """(scores, labels, mean loss) of a split."""
    device = next(model.parameters()).device
    loss, _, scores, labels = run_batches(model, DataLoader(GraphStoreDataset(cache_path, split), batch_size=64),
                                          device)
    return scores, labels, loss
