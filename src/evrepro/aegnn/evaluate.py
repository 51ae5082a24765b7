"""Evaluate the best checkpoint of a run on the test split: metrics.json and confusion.csv."""

import json
from pathlib import Path

import torch
from torch_geometric.loader import DataLoader

from evrepro.aegnn.data import GraphStoreDataset
from evrepro.aegnn.graph_res import GraphRes, GraphResConfig
from evrepro.aegnn.train import pick_device, run_batches
from evrepro.evaluation.results import write_test_results


def load_model(run_dir, device="cpu") -> tuple[GraphRes, dict]:
    """The best-on-validation GraphRes of a run, in eval mode, and its model.json."""
    run_dir = Path(run_dir)
    description = json.loads((run_dir / "model.json").read_text())
    config = description["config"]
    config = GraphResConfig(**{**config, "sensor_size": tuple(config["sensor_size"]),
                               "channels": tuple(config["channels"]), "pool_voxel": tuple(config["pool_voxel"])})
    model = GraphRes(config)
    best = torch.load(run_dir / "checkpoints" / "best.pt", map_location=device, weights_only=False)
    model.load_state_dict(best["model"])
    description["best_epoch"], description["best_val_accuracy"] = best["epoch"], best["val_accuracy"]
    return model.to(device).eval(), description


def evaluate_run(graphs_path, run_dir, class_names: list[str], device: str = "auto",
                 threads: int | None = None) -> dict:
    """Test metrics of a run's best checkpoint, written to metrics.json and confusion.csv (``threads``: torch's)."""
    run_dir = Path(run_dir)
    if threads:
        torch.set_num_threads(threads)
    device = pick_device(device)
    model, description = load_model(run_dir, device)
    loader = DataLoader(GraphStoreDataset(graphs_path, "test"), batch_size=64)
    loss, _, scores, labels = run_batches(model, loader, device)
    return write_test_results(run_dir, "aegnn", scores, labels, loss, class_names, description)
