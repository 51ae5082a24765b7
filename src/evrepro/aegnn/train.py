"""Train GraphRes on a graph store: the paper's recipe by default, checkpointed every epoch, resumable.

``run_dir/checkpoints/last.pt`` holds the model, optimiser, scheduler, RNG states, epoch, history and
best validation accuracy, rewritten atomically after every epoch; a restarted run continues from it.
The batch order of epoch e depends only on (seed, e), so a resumed run repeats the uninterrupted one.
``last.pt`` also keeps the weights with the best validation accuracy so far; when training ends they
are written to ``best.pt``, the checkpoint that is evaluated.
"""

import copy
import json
import logging
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch_geometric.loader import DataLoader
from tqdm import tqdm

from evrepro.aegnn.data import GraphStoreDataset
from evrepro.aegnn.graph_res import GraphRes, GraphResConfig, parameter_count
from evrepro.fileio import atomic_output
from evrepro.run_folder import ComputeMeter, write_history

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Training recipe; the run config's ``training`` block maps onto these."""

    epochs: int = 150
    batch_size: int = 8
    lr: float = 5e-3
    weight_decay: float = 5e-3
    warmup_epochs: int = 5
    decay: float = 0.98
    device: str = "auto"
    max_train_samples: int | None = None


def lr_factor(epoch: int, warmup_epochs: int, decay: float) -> float:
    """Learning-rate multiplier: linear warm-up from 0.5 to 1, then ``decay`` per epoch."""
    if epoch <= warmup_epochs:
        return 0.5 * (1 + epoch / max(warmup_epochs, 1))
    return decay ** (epoch - warmup_epochs)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("training.device is 'cuda' but torch sees no CUDA device")
    return torch.device(name)


def run_batches(model, loader, device, optimizer=None, progress=False, desc=""):
    """One pass over ``loader``; trains when given an optimiser. Returns (mean loss, accuracy, scores, labels)."""
    training = optimizer is not None
    model.train(training)
    losses, scores, labels = [], [], []
    with torch.set_grad_enabled(training):
        for batch in tqdm(loader, desc=desc, disable=not progress, mininterval=5, leave=False):
            batch = batch.to(device)
            logits = model(batch.x, batch.pos, batch.edge_index, batch.batch, batch.num_graphs)
            loss = torch.nn.functional.cross_entropy(logits, batch.y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            losses.append(loss.item() * batch.num_graphs)
            scores.append(logits.detach().cpu())
            labels.append(batch.y.cpu())
    scores, labels = torch.cat(scores).numpy(), torch.cat(labels).numpy()
    return sum(losses) / len(labels), float(np.mean(scores.argmax(1) == labels)), scores, labels


def _rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def _save(obj, path: Path) -> None:
    with atomic_output(path) as temporary:
        torch.save(obj, temporary)


def epochs_done(last: Path) -> int:
    """Epochs a checkpoint ``last.pt`` has trained."""
    return len(torch.load(last, map_location="cpu", weights_only=False)["history"])


def train_run(graphs_path, run_dir, model_config: GraphResConfig, train_config: TrainConfig, seed: int,
              progress: bool = True, threads: int | None = None) -> pd.DataFrame:
    """Train (or resume) one run × seed; writes checkpoints/, history.csv and model.json in ``run_dir``.

    ``threads``: torch's CPU threads (the job's; None leaves torch's default).
    """
    run_dir = Path(run_dir)
    checkpoints = run_dir / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    if threads:
        torch.set_num_threads(threads)
    device = pick_device(train_config.device)
    torch.manual_seed(seed)
    model = GraphRes(model_config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=train_config.lr, weight_decay=train_config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda e: lr_factor(e, train_config.warmup_epochs, train_config.decay))
    history, best_state, start, compute = [], None, 0, None
    last = checkpoints / "last.pt"
    if last.exists():
        state = torch.load(last, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        _set_rng_state(state["rng"])
        history, best_state, start = state["history"], state["best"], state["epoch"] + 1
        compute = state.get("compute")
        log.info("resuming from %s after epoch %d", last, state["epoch"])
    meter = ComputeMeter(compute)

    train_set = GraphStoreDataset(graphs_path, "train", train_config.max_train_samples)
    val_set = GraphStoreDataset(graphs_path, "val")
    val_loader = DataLoader(val_set, batch_size=max(train_config.batch_size, 32))
    for epoch in range(start, train_config.epochs):
        began = time.perf_counter()
        order = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        loader = DataLoader(train_set, batch_size=train_config.batch_size, shuffle=True, generator=order)
        lr = optimizer.param_groups[0]["lr"]
        train_loss, train_acc, *_ = run_batches(model, loader, device, optimizer, progress, f"epoch {epoch}")
        val_loss, val_acc, *_ = run_batches(model, val_loader, device)
        scheduler.step()
        history.append({"epoch": epoch, "lr": lr, "train_loss": train_loss, "train_accuracy": train_acc,
                        "val_loss": val_loss, "val_accuracy": val_acc, "seconds": time.perf_counter() - began})
        log.info("epoch %d: train loss %.4f acc %.4f | val loss %.4f acc %.4f", epoch, train_loss, train_acc,
                 val_loss, val_acc)
        if best_state is None or val_acc > best_state["val_accuracy"]:
            best_state = {"model": copy.deepcopy(model.state_dict()), "epoch": epoch, "val_accuracy": val_acc}
        _save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
               "scheduler": scheduler.state_dict(), "rng": _rng_state(), "epoch": epoch, "history": history,
               "best": best_state, "compute": meter.update()}, last)
        write_history(run_dir / "history.csv", history)

    if start >= train_config.epochs:
        log.info("%s already holds all %d epochs: rewriting its outputs from the checkpoint", last, len(history))
        write_history(run_dir / "history.csv", history)
    _save(best_state, checkpoints / "best.pt")
    description = {"family": "aegnn", "architecture": "GraphRes", "config": model_config.as_dict(),
                   "training": asdict(train_config), "seed": seed, "device": str(device),
                   "threads": torch.get_num_threads(),
                   "parameters": parameter_count(model_config),
                   "train_wall_time_s": float(sum(row["seconds"] for row in history)), "compute": meter.update()}
    with atomic_output(run_dir / "model.json") as temporary:
        temporary.write_text(json.dumps(description, indent=2))
    return pd.DataFrame(history)
