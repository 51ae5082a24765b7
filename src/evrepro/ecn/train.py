"""Train ECN's vox-pool network on a stream cache: ECN's recipe by default, checkpointed every epoch, resumable.

ECN's recipe (jackd/ecn ``ecn/configs/sccd/*.gin``): Adam at 1e-3, L2 4e-5 on every kernel (in the network),
dropout 0.5, ReduceLROnPlateau on the *training* accuracy (patience 10, factor 0.2), batches of 32 for N-MNIST.
An optional per-epoch decay (``lr_decay``, 1 in ECN) lets a short laptop run settle.

``checkpoints/last.npz`` (beside the best checkpoint) holds every model variable (weights, BatchNorm
statistics and the dropout layers' seed states), every optimiser variable and a JSON state: the input
pipeline's position (epoch and batch, the augmented copy it reads and its shuffle seed), the epoch's running
sums when taken mid-epoch, the plateau schedule, the history and the best weights so far. It is
rewritten atomically after every epoch, every ``execution.checkpoint_minutes`` of training (and
``execution.checkpoint_every_batches`` batches when set) and at once on SIGTERM or SIGUSR1
(``evrepro.training.preemption``); a restarted run continues from it and ends as the uninterrupted run would (op
determinism is on, and an epoch's batch order depends only on (seed, epoch)). When training ends, the weights
with the best validation accuracy are written to the best checkpoint, the one that is evaluated (``compat:
[validate_on_test]`` validates on the test split instead, as ECN's N-MNIST runs did). With several
replicas (``execution.replicas`` or GPUs) the training is data-parallel (``evrepro.ecn.replicas``) with the same
global batch.
"""

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from evrepro.compat import Compat
from evrepro.ecn.checkpoint import assign_arrays, load_arrays, save_arrays, variable_arrays
from evrepro.ecn.classifier import Classifier, configure_tensorflow
from evrepro.ecn.network import parameter_counts
from evrepro.ecn.presets import ECNConfig
from evrepro.ecn.replicas import mirrored
from evrepro.layout import last_checkpoint
from evrepro.streams.store import StreamStore
from evrepro.training.execution import Execution
from evrepro.training.folder import ComputeMeter
from evrepro.training.preemption import CheckpointCadence
from evrepro.training.stages import Trained

log = logging.getLogger(__name__)

# The original's training behaviours a run can reproduce (``training.compat``; docs/fidelity.md), each a fix evrepro
# makes: validate_on_test: validation (the best epoch's choice, the plateau's monitor if set to it) on the test
# split, which ECN's N-MNIST "validation" was (events-tfds' nmnist has only train and test), so the score it
# reports is the best test accuracy over epochs
TRAINING_COMPAT = ("validate_on_test",)


@dataclass(frozen=True)
class TrainConfig(Compat):
    """Training recipe; the run config's ``training`` block maps onto these."""

    epochs: int = 150
    batch_size: int = 32
    lr: float = 1e-3
    lr_decay: float = 1.0  # per-epoch factor on top of the plateau schedule; ECN: 1 (none)
    plateau_monitor: str = "train_accuracy"  # ECN's choice; "val_accuracy" is the other option
    plateau_patience: int = 10
    plateau_factor: float = 0.2
    shuffle_buffer: int = 1024
    compat: tuple[str, ...] = ()  # the original's behaviours to reproduce (TRAINING_COMPAT); none: evrepro's fixes
    COMPAT, COMPAT_KEY = TRAINING_COMPAT, "training.compat"

    @property
    def validation_split(self) -> str:
        """The split each epoch is validated on (and the best checkpoint chosen by)."""
        return "test" if "validate_on_test" in self.compat else "val"


class Plateau:
    """Keras' ReduceLROnPlateau in max mode (min_delta 1e-4, no cooldown), with its state as plain data."""

    MIN_DELTA = 1e-4

    def __init__(self, lr: float, patience: int, factor: float):
        self.patience, self.factor = patience, factor
        self.state = {"lr": lr, "best": None, "wait": 0}

    @property
    def lr(self) -> float:
        return self.state["lr"]

    def update(self, value: float) -> None:
        """Record an epoch's monitored value; cut the learning rate after ``patience`` epochs without gain."""
        if self.state["best"] is None or value - self.MIN_DELTA > self.state["best"]:
            self.state.update(best=value, wait=0)
            return
        self.state["wait"] += 1
        if self.state["wait"] >= self.patience:
            self.state.update(lr=self.state["lr"] * self.factor, wait=0)


def epochs_done(last: Path) -> int:
    """Epochs a checkpoint ``last.npz`` has trained."""
    return len(load_arrays(last)[1]["history"])


class Training:
    """The state of one training: model and optimiser variables, schedule, history, best weights, the input
    pipeline's position (epoch, batch) with the epoch's running sums when mid-epoch, and the compute spent."""

    def __init__(self, classifier: Classifier, optimizer, plateau: Plateau, seed: int, copies: int):
        self.classifier, self.optimizer, self.plateau = classifier, optimizer, plateau
        self.seed, self.copies = seed, copies
        self.history, self.best, self.position, self.partial = [], None, {"epoch": 0, "batch": 0}, None
        self.meter = ComputeMeter()

    def restore(self, last: Path) -> None:
        groups, state = load_arrays(last)
        assign_arrays(self.classifier.model.variables, groups["model"], "model variables", last)
        assign_arrays(self.optimizer.variables, groups["optimizer"], "optimizer variables", last)
        self.plateau.state, self.history = state["plateau"], state["history"]
        self.position, self.partial = state["position"], state["partial"]
        self.best = {"weights": groups["best"], **state["best"]} if state["best"] else None
        self.meter = ComputeMeter(state.get("compute"))
        log.info("resuming from %s at epoch %d, batch %d", last, self.position["epoch"], self.position["batch"])

    def save(self, last: Path, epoch: int, batch: int, sums: dict | None) -> None:
        """last.npz at the input pipeline's position (epoch, batch), with the epoch's running sums when mid-epoch."""
        at = {"epoch": epoch, "batch": batch, "copy": epoch % self.copies, "shuffle_seed": [self.seed, epoch]}
        groups = {"model": variable_arrays(self.classifier.model.variables),
                  "optimizer": variable_arrays(self.optimizer.variables)}
        best = None
        if self.best:
            groups["best"] = self.best["weights"]
            best = {"epoch": self.best["epoch"], "val_accuracy": self.best["val_accuracy"]}
        save_arrays(last, groups, {"position": at, "partial": sums, "plateau": self.plateau.state,
                                   "history": self.history, "best": best, "compute": self.meter.update()})

    def record_epoch(self, row: dict) -> None:
        """Append an epoch's row; keep the weights if its validation accuracy is the best so far."""
        self.history.append(row)
        if self.best is None or row["val_accuracy"] > self.best["val_accuracy"]:
            self.best = {"weights": variable_arrays(self.classifier.model.weights), "epoch": row["epoch"],
                         "val_accuracy": row["val_accuracy"]}


def train_run(cache_path, best_path, model_config: ECNConfig, train_config: TrainConfig, seed: int, *,
              execution: Execution, threads: int | None = None, progress: bool = True, on_epoch=None) -> Trained:
    """Train (or resume) one run × seed; checkpoints beside ``best_path``, the best weights at ``best_path``.

    ``execution``: device, replicas and checkpoint cadence. ``threads``: TensorFlow's CPU threads (the job's;
    None leaves TensorFlow's default). ``on_epoch(history)`` is called after every epoch.
    """
    best_path = Path(best_path)
    best_path.parent.mkdir(parents=True, exist_ok=True)
    last = last_checkpoint(best_path)
    device = configure_tensorflow(execution.device, threads, execution.workers)
    strategy = mirrored(device, execution.workers) if execution.workers > 1 else None
    classifier = Classifier(cache_path, model_config, seed, strategy)
    classifier.build()
    with classifier.scope():
        optimizer = keras.optimizers.Adam(train_config.lr)
        optimizer.build(classifier.model.trainable_variables)
    with StreamStore(cache_path) as store:
        copies = store.copies("train")
    plateau = Plateau(train_config.lr, train_config.plateau_patience, train_config.plateau_factor)
    training = Training(classifier, optimizer, plateau, seed, copies)
    if last.exists():
        training.restore(last)
    start = training.position
    if start["epoch"] >= train_config.epochs:
        log.info("%s already holds all %d epochs: rewriting the outputs from it", last, len(training.history))
    train_passes = classifier.passes("train", train_config.batch_size, shuffle=True, seed=seed,
                                     shuffle_buffer=train_config.shuffle_buffer, first_epoch=start["epoch"],
                                     first_batch=start["batch"], replicas=classifier.replicas)
    val_passes = classifier.passes(train_config.validation_split)
    train_step = classifier.train_step_for(optimizer)
    with CheckpointCadence(execution.checkpoint_minutes, execution.checkpoint_every_batches) as cadence:
        for epoch in range(start["epoch"], train_config.epochs):
            row = _train_epoch(training, train_step, train_passes, val_passes, train_config, epoch, last, progress,
                               cadence)
            training.record_epoch(row)
            plateau.update(row[train_config.plateau_monitor])
            training.save(last, epoch + 1, 0, None)
            if on_epoch:
                on_epoch(training.history)
            cadence.written(last, epoch + 1, 0)
    train_passes.close()
    val_passes.close()
    save_arrays(best_path, {"weights": training.best["weights"]},
                {"epoch": training.best["epoch"], "val_accuracy": training.best["val_accuracy"]})
    return Trained(history=training.history, device=device,
                   threads=tf.config.threading.get_intra_op_parallelism_threads() or None,
                   parameters=parameter_counts(classifier.model), compute=training.meter.update())


def _train_epoch(training: Training, train_step, train_passes, val_passes, train_config: TrainConfig, epoch: int,
                 last: Path, progress: bool, cadence: CheckpointCadence) -> dict:
    """One epoch (from where a resumed job stopped), checkpointed within it when ``cadence`` says; its row."""
    began = time.perf_counter()
    lr = training.plateau.lr * train_config.lr_decay**epoch
    training.optimizer.learning_rate.assign(lr)
    sums = training.partial or {"loss_sum": 0.0, "correct": 0, "seen": 0, "seconds": 0.0}  # a resumed epoch's
    training.partial = None
    first_batch = training.position["batch"] if epoch == training.position["epoch"] else 0
    total = train_passes.batches_in(epoch)
    batches = tqdm(train_passes.next_pass(), desc=f"epoch {epoch}", disable=not progress, mininterval=5, leave=False)
    for batch, data in enumerate(batches, start=first_batch + 1):  # batch: how many are done
        for loss, logits, labels, weight in train_step(data):  # per replica
            labels = labels.numpy()
            sums["loss_sum"] += float(loss) * labels.size * weight
            sums["correct"] += int(np.sum(training.classifier.scores(logits.numpy()).argmax(1) == labels)) * weight
            sums["seen"] += labels.size * weight
        if batch < total and cadence.due(batch):
            training.save(last, epoch, batch, {**sums, "seconds": sums["seconds"] + time.perf_counter() - began})
            cadence.written(last, epoch, batch)
    val_loss, val_acc, _, _ = training.classifier.evaluate(val_passes)
    row = {"epoch": epoch, "lr": lr, "train_loss": sums["loss_sum"] / sums["seen"],
           "train_accuracy": sums["correct"] / sums["seen"], "val_loss": val_loss, "val_accuracy": val_acc,
           "seconds": sums["seconds"] + time.perf_counter() - began}
    log.info("epoch %d: train loss %.4f acc %.4f | val loss %.4f acc %.4f | lr %.2g", epoch, row["train_loss"],
             row["train_accuracy"], val_loss, val_acc, lr)
    return row
