"""Train GraphRes on a graph store (or its detector on a detection graph store: ``evrepro.aegnn.tasks``): the paper's
recipe by default, checkpointed within epochs, resumable.

``checkpoints/last.pt`` (beside the best checkpoint) holds the model, optimiser, scheduler, RNG states, the
position in the training (epoch, batch) with the epoch's running sums when taken mid-epoch, the history, the best
weights so far and the compute spent. It is rewritten atomically after every epoch, every
``execution.checkpoint_minutes`` of training and at once on SIGTERM or SIGUSR1 (``evrepro.training.preemption``); a
restarted job continues from it. The batch order of epoch e depends only on (seed, e), so a resumed run repeats
the uninterrupted one. When training ends, the best weights are written to the best checkpoint, the one that is
evaluated. With several replicas (``execution.replicas`` or GPUs) the training is data-parallel
(``evrepro.aegnn.replicas``) with the same global batch.
"""

import copy
import logging
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from evrepro.aegnn.checkpoint import load_checkpoint, numpy_rng_state, save_checkpoint, set_numpy_rng_state
from evrepro.aegnn.loop import device_name, pick_device
from evrepro.aegnn.presets import parameter_counts
from evrepro.aegnn.tasks import loader, task_for
from evrepro.aegnn.replicas import STOPPED_EXIT, Replica, launch, set_shard_weight
from evrepro.layout import last_checkpoint
from evrepro.training.execution import Execution
from evrepro.training.folder import ComputeMeter
from evrepro.training.preemption import CheckpointCadence, Stopped
from evrepro.training.stages import Trained

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Training recipe; the run config's ``training`` block maps onto these."""

    epochs: int = 150
    batch_size: int = 8
    lr: float = 5e-3
    weight_decay: float = 5e-3
    warmup_epochs: int = 5
    lr_decay: float = 0.98  # per-epoch factor after the warm-up
    max_train_samples: int | None = None


def lr_factor(epoch: int, warmup_epochs: int, lr_decay: float) -> float:
    """Learning-rate multiplier: linear warm-up from 0.5 to 1, then ``lr_decay`` per epoch."""
    if epoch <= warmup_epochs:
        return 0.5 * (1 + epoch / max(warmup_epochs, 1))
    return lr_decay ** (epoch - warmup_epochs)


def epoch_order(size: int, seed: int, epoch: int) -> list[int]:
    """The order of the training samples in epoch ``epoch``: a permutation drawn from (seed, epoch) only.

    It is the order a DataLoader shuffling with a generator seeded ``seed · 1000003 + epoch`` gives (its iterator
    draws a base seed from the generator before the sampler's permutation), the order of trainings before
    batches could be resumed, so that they continue unchanged.
    """
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    torch.empty((), dtype=torch.int64).random_(generator=generator)
    return torch.randperm(size, generator=generator).tolist()


def epochs_done(last: Path) -> int:
    """Epochs a checkpoint ``last.pt`` has trained."""
    return len(load_checkpoint(last)["history"])


class Training:
    """The state of one training: model, optimiser, schedule, RNGs, history, best weights, the position (epoch,
    batch) with the epoch's running sums when mid-epoch, and the compute spent."""

    def __init__(self, model_config, train_config: TrainConfig, seed: int, device):
        torch.manual_seed(seed)
        self.task = task_for(model_config)
        self.model = self.task.model(model_config).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=train_config.lr,
                                          weight_decay=train_config.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda e: lr_factor(e, train_config.warmup_epochs, train_config.lr_decay))
        self.history, self.best, self.position, self.partial = [], None, {"epoch": 0, "batch": 0}, None
        self.meter = ComputeMeter()

    def restore(self, last: Path, device) -> None:
        """Continue from a checkpoint: every state as it was at its position."""
        state = load_checkpoint(last, device)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"]["torch"])
        set_numpy_rng_state(state["rng"]["numpy"])
        random.setstate(state["rng"]["python"])
        self.history, self.best = state["history"], state["best"]
        # checkpoints written before mid-epoch ones were possible hold the last completed epoch only
        self.position = state.get("position") or {"epoch": state["epoch"] + 1, "batch": 0}
        self.partial = state.get("partial")
        self.meter = ComputeMeter(state.get("compute"))
        log.info("resuming from %s at epoch %d, batch %d", last, self.position["epoch"], self.position["batch"])

    def save(self, last: Path, epoch: int, batch: int, partial: dict | None) -> None:
        """last.pt at (epoch, batch), with the epoch's running sums when mid-epoch."""
        rng = {"torch": torch.get_rng_state(), "numpy": numpy_rng_state(), "python": random.getstate()}
        save_checkpoint({"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
               "scheduler": self.scheduler.state_dict(), "rng": rng, "position": {"epoch": epoch, "batch": batch},
               "partial": partial, "history": self.history, "best": self.best, "compute": self.meter.update()}, last)

    def record_epoch(self, row: dict) -> None:
        """Append an epoch's row; keep the weights if its validation score (the task's) is the best so far."""
        self.history.append(row)
        score = self.task.score
        if self.best is None or row[score] > self.best[score]:
            self.best = {"model": copy.deepcopy(self.model.state_dict()), "epoch": row["epoch"], score: row[score]}


def train_run(cache_path, best_path, model_config, train_config: TrainConfig, seed: int, *,
              execution: Execution, threads: int | None = None, progress: bool = True, on_epoch=None) -> Trained:
    """Train (or resume) one run × seed; checkpoints beside ``best_path``, the best weights at ``best_path``.

    ``execution``: device, replicas and checkpoint cadence. ``threads``: torch's CPU threads (the job's, shared
    by the replicas; None leaves torch's default). ``on_epoch(history)`` is called after every epoch (it must
    pickle when there are several replicas).
    """
    best_path = Path(best_path)
    best_path.parent.mkdir(parents=True, exist_ok=True)
    last = last_checkpoint(best_path)
    device = pick_device(execution.device)
    args = (cache_path, best_path, model_config, train_config, seed, execution, threads, progress, on_epoch)
    if execution.workers == 1:
        _train(Replica(0, 1, device), *args)
    elif launch(_train, execution.workers, device.type == "cuda", *args) == STOPPED_EXIT:
        state = load_checkpoint(last)["position"]
        raise Stopped(f"training stopped by a signal at epoch {state['epoch']}, batch {state['batch']}: its "
                      f"checkpoint {last} is written and the next run resumes from it")
    state = load_checkpoint(last)
    return Trained(history=state["history"], device=device_name(device),
                   threads=max(1, (threads or torch.get_num_threads()) // execution.workers),
                   parameters=parameter_counts(model_config), compute=state["compute"])



def _train(replica: Replica, cache_path, best_path: Path, model_config, train_config: TrainConfig,
           seed: int, execution: Execution, threads: int | None, progress: bool, on_epoch) -> None:
    """One replica's training loop (the only one without data parallelism); the leader writes every file."""
    if threads:
        torch.set_num_threads(max(1, threads // replica.world))
    last = last_checkpoint(best_path)
    training = Training(model_config, train_config, seed, replica.device)
    if last.exists():
        training.restore(last, replica.device)
    if training.position["epoch"] >= train_config.epochs and replica.leader:
        log.info("%s already holds all %d epochs: rewriting the outputs from it", last, len(training.history))
    model, task = replica.wrap(training.model), training.task
    train_set = task.dataset(cache_path, "train", train_config.max_train_samples)
    val_loader = loader(task, task.dataset(cache_path, "val"), batch_size=max(train_config.batch_size, 32))
    with CheckpointCadence(execution.checkpoint_minutes, execution.checkpoint_every_batches) as cadence:
        for epoch in range(training.position["epoch"], train_config.epochs):
            lr = training.optimizer.param_groups[0]["lr"]
            sums = _train_epoch(replica, training, model, train_set, train_config, seed, epoch, cadence, last,
                                progress)
            batches_done = time.perf_counter()
            row = {"epoch": epoch, "lr": lr,
                   **task.train_columns(sums["loss_sum"] / sums["seen"], sums["correct"] / sums["seen"])}
            if replica.leader:
                row.update(task.validate(training.model, val_loader, replica.device))
                row["seconds"] = sums["seconds"] + time.perf_counter() - batches_done  # every job's share of the epoch
                training.record_epoch(row)
                log.info("epoch %d: %s", epoch, " | ".join(f"{key} {value:.4f}" for key, value in row.items()
                                                          if key not in ("epoch", "lr", "seconds")))
            training.scheduler.step()
            _checkpoint(replica, training, cadence, last, epoch + 1, 0, None)
            if on_epoch and replica.leader:
                on_epoch(training.history)
    if replica.leader:
        save_checkpoint(training.best, best_path)


def _train_epoch(replica: Replica, training: Training, model, train_set, train_config: TrainConfig, seed: int,
                 epoch: int, cadence: CheckpointCadence, last: Path, progress: bool) -> dict:
    """One epoch's batches (from where a resumed job stopped); the epoch's sums over every replica."""
    began = time.perf_counter()
    order, size = epoch_order(len(train_set), seed, epoch), train_config.batch_size
    batches = [order[k : k + size] for k in range(0, len(order), size)]
    resumed = training.partial or {"loss_sum": 0.0, "correct": 0.0, "seen": 0.0, "seconds": 0.0}
    first = training.position["batch"] if epoch == training.position["epoch"] else 0
    training.partial = None
    local = [0.0, 0.0, 0.0]  # this replica's loss sum, correct and seen samples (weighted)
    shards = [replica.shard(batch) for batch in batches[first:]]
    # a generator of its own, so that the loader's base seed leaves torch's global one as it was
    batches_now = loader(training.task, train_set, batch_sampler=[indices for indices, _ in shards],
                         generator=torch.Generator())
    model.train()
    progress_bar = tqdm(batches_now, desc=f"epoch {epoch}", disable=not (progress and replica.leader), mininterval=5,
                        leave=False)
    for done, (batch, (_, weight), size_now) in enumerate(
            zip(progress_bar, shards, (len(b) for b in batches[first:])), start=first + 1):
        batch = batch.to(replica.device)
        set_shard_weight(model, weight)
        loss, correct = training.task.step(model, batch)
        # this replica's share of the global batch's mean; DDP averages the replicas' gradients
        share = weight * replica.world * batch.num_graphs / size_now
        training.optimizer.zero_grad()
        (loss * share).backward()
        training.optimizer.step()
        local[0] += loss.item() * batch.num_graphs * weight
        local[1] += correct * weight
        local[2] += batch.num_graphs * weight
        if done < len(batches) and replica.any([cadence.due(done)])[0]:
            _checkpoint(replica, training, cadence, last, epoch, done, _epoch_sums(replica, resumed, local, began))
    return _epoch_sums(replica, resumed, local, began)


def _checkpoint(replica: Replica, training: Training, cadence: CheckpointCadence, last: Path, epoch: int, batch: int,
                partial: dict | None) -> None:
    """The leader writes last.pt at (epoch, batch); every replica then stops if any was signalled."""
    stop = replica.any([cadence.stopping])[0]
    if replica.leader:
        training.save(last, epoch, batch, partial)
    replica.barrier()  # no replica leaves before the checkpoint is whole
    if stop and not cadence.stopping:
        cadence.request_stop(signal.SIGTERM)
    cadence.written(last, epoch, batch, stop)  # the agreed decision: a signal during the barrier waits a checkpoint


def _epoch_sums(replica: Replica, resumed: dict, local: list[float], began: float) -> dict:
    """The epoch's running sums: what a resumed job inherited plus every replica's batches since."""
    loss_sum, correct, seen = replica.total(local)
    return {"loss_sum": resumed["loss_sum"] + loss_sum, "correct": resumed["correct"] + correct,
            "seen": resumed["seen"] + seen, "seconds": resumed["seconds"] + time.perf_counter() - began}
