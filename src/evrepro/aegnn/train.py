"""Train GraphRes on a graph store: the paper's recipe by default, checkpointed every epoch, resumable.

``checkpoints/last.pt`` (beside the best checkpoint) holds the model, optimiser, scheduler, RNG states,
epoch, history, the best weights so far and the compute spent, rewritten atomically after every epoch;
a restarted job continues from it. The batch order of epoch e depends only on (seed, e), so a resumed
run repeats the uninterrupted one. When training ends, the best weights are written to the best
checkpoint, the one that is evaluated.
"""

import copy
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch_geometric.loader import DataLoader

from evrepro.aegnn.data import GraphStoreDataset
from evrepro.aegnn.graph_res import GraphRes
from evrepro.aegnn.loop import device_name, pick_device, run_batches
from evrepro.aegnn.presets import GraphResConfig, parameter_counts
from evrepro.fileio import atomic_output
from evrepro.run_folder import ComputeMeter
from evrepro.run_stages import Trained

log = logging.getLogger(__name__)
LAST = "last.pt"


@dataclass(frozen=True)
class TrainConfig:
    """Training recipe; the run config's ``training`` block maps onto these."""

    epochs: int = 150
    batch_size: int = 8
    lr: float = 5e-3
    weight_decay: float = 5e-3
    warmup_epochs: int = 5
    lr_decay: float = 0.98  # per-epoch factor after the warm-up
    device: str = "auto"
    max_train_samples: int | None = None


def lr_factor(epoch: int, warmup_epochs: int, lr_decay: float) -> float:
    """Learning-rate multiplier: linear warm-up from 0.5 to 1, then ``lr_decay`` per epoch."""
    if epoch <= warmup_epochs:
        return 0.5 * (1 + epoch / max(warmup_epochs, 1))
    return lr_decay ** (epoch - warmup_epochs)


def epochs_done(last: Path) -> int:
    """Epochs a checkpoint ``last.pt`` has trained."""
    return len(torch.load(last, map_location="cpu", weights_only=False)["history"])


def _save(obj, path: Path) -> None:
    with atomic_output(path) as temporary:
        torch.save(obj, temporary)


class Training:
    """The state of one training: model, optimiser, schedule, RNGs, history, best weights, compute."""

    def __init__(self, model_config: GraphResConfig, train_config: TrainConfig, seed: int, device):
        torch.manual_seed(seed)
        self.model = GraphRes(model_config).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=train_config.lr,
                                          weight_decay=train_config.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda e: lr_factor(e, train_config.warmup_epochs, train_config.lr_decay))
        self.history, self.best, self.next_epoch, compute = [], None, 0, None
        self.meter = ComputeMeter(compute)

    def restore(self, last: Path, device) -> None:
        """Continue from a checkpoint: every state as it was after its last epoch."""
        state = torch.load(last, map_location=device, weights_only=False)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"]["torch"])
        np.random.set_state(state["rng"]["numpy"])
        random.setstate(state["rng"]["python"])
        self.history, self.best, self.next_epoch = state["history"], state["best"], state["epoch"] + 1
        self.meter = ComputeMeter(state.get("compute"))
        log.info("resuming from %s after epoch %d", last, state["epoch"])

    def save(self, last: Path) -> None:
        rng = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
        _save({"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
               "scheduler": self.scheduler.state_dict(), "rng": rng, "epoch": self.next_epoch - 1,
               "history": self.history, "best": self.best, "compute": self.meter.update()}, last)

    def record_epoch(self, row: dict) -> None:
        """Append an epoch's row; keep the weights if its validation accuracy is the best so far."""
        self.history.append(row)
        if self.best is None or row["val_accuracy"] > self.best["val_accuracy"]:
            self.best = {"model": copy.deepcopy(self.model.state_dict()), "epoch": row["epoch"],
                         "val_accuracy": row["val_accuracy"]}
        self.next_epoch = row["epoch"] + 1


def train_run(cache_path, best_path, model_config: GraphResConfig, train_config: TrainConfig, seed: int, *,
              threads: int | None = None, progress: bool = True, on_epoch=None) -> Trained:
    """Train (or resume) one run × seed; checkpoints beside ``best_path``, the best weights at ``best_path``.

    ``threads``: torch's CPU threads (the job's; None leaves torch's default). ``on_epoch(history)`` is
    called after every epoch.
    """
    best_path = Path(best_path)
    best_path.parent.mkdir(parents=True, exist_ok=True)
    last = best_path.with_name(LAST)
    if threads:
        torch.set_num_threads(threads)
    device = pick_device(train_config.device)
    training = Training(model_config, train_config, seed, device)
    if last.exists():
        training.restore(last, device)
    if training.next_epoch >= train_config.epochs:
        log.info("%s already holds all %d epochs: rewriting the outputs from it", last, len(training.history))
    train_set = GraphStoreDataset(cache_path, "train", train_config.max_train_samples)
    val_loader = DataLoader(GraphStoreDataset(cache_path, "val"), batch_size=max(train_config.batch_size, 32))
    for epoch in range(training.next_epoch, train_config.epochs):
        began = time.perf_counter()
        order = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        loader = DataLoader(train_set, batch_size=train_config.batch_size, shuffle=True, generator=order)
        lr = training.optimizer.param_groups[0]["lr"]
        train_loss, train_acc, *_ = run_batches(training.model, loader, device, training.optimizer, progress,
                                                f"epoch {epoch}")
        val_loss, val_acc, *_ = run_batches(training.model, val_loader, device)
        training.scheduler.step()
        training.record_epoch({"epoch": epoch, "lr": lr, "train_loss": train_loss, "train_accuracy": train_acc,
                               "val_loss": val_loss, "val_accuracy": val_acc,
                               "seconds": time.perf_counter() - began})
        log.info("epoch %d: train loss %.4f acc %.4f | val loss %.4f acc %.4f", epoch, train_loss, train_acc,
                 val_loss, val_acc)
        training.save(last)
        if on_epoch:
            on_epoch(training.history)
    _save(training.best, best_path)
    return Trained(history=training.history, device=device_name(device), threads=torch.get_num_threads(),
                   parameters=parameter_counts(model_config), compute=training.meter.update())
