"""Train ECN's vox-pool network on a stream cache: ECN's recipe by default, checkpointed every epoch, resumable.

ECN's recipe (jackd/ecn ``ecn/configs/sccd/*.gin``): Adam at 1e-3, L2 4e-5 on every kernel (in the network),
dropout 0.5, ReduceLROnPlateau on the *training* accuracy (patience 10, factor 0.2), batches of 32 for N-MNIST.
An optional per-epoch decay (``lr_decay``, 1 in ECN) lets a short laptop run settle.

``run_dir/checkpoints/last.npz`` holds every model variable (weights, BatchNorm statistics and the
dropout layers' seed states), every optimiser variable and a JSON state: the input pipeline's
position (epoch and batch, the augmented copy it reads and its shuffle seed), the epoch's running
sums when taken mid-epoch, the plateau schedule, the history and the best weights so far. It is
rewritten atomically after every epoch, and every ``checkpoint_every_batches`` batches when set; a
restarted run continues from it and ends as the uninterrupted run would (op determinism is on, and
an epoch's batch order depends only on (seed, epoch)). When training ends, the weights with the best
validation accuracy are written to ``best.npz``, the checkpoint that is evaluated.
"""

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from tqdm import tqdm

from evrepro.ecn.data import Passes, input_signature, split_order
from evrepro.ecn.network import VoxPoolNetwork, parameter_counts
from evrepro.ecn.presets import ECNConfig
from evrepro.fileio import atomic_output
from evrepro.run_folder import ComputeMeter, write_history
from evrepro.streams.store import StreamStore

log = logging.getLogger(__name__)
EVAL_BATCH = 64


@dataclass(frozen=True)
class TrainConfig:
    """Training recipe; the run config's ``training`` block maps onto these."""

    epochs: int = 150
    batch_size: int = 32
    lr: float = 1e-3
    lr_decay: float = 1.0  # per-epoch factor on top of the plateau schedule; ECN: 1 (none)
    plateau_monitor: str = "train_accuracy"  # ECN's choice; "val_accuracy" is the other option
    plateau_patience: int = 10
    plateau_factor: float = 0.2
    shuffle_buffer: int = 1024
    checkpoint_every_batches: int | None = None  # also checkpoint within an epoch (long epochs, preemption)
    device: str = "auto"


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


def configure_tensorflow(device: str, threads: int | None) -> str:
    """Pin the device ("auto", "cpu", "gpu") and CPU threads and turn op determinism on; returns the device used."""
    if threads and tf.config.threading.get_intra_op_parallelism_threads() != threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # this process already ran TensorFlow: its thread pools are fixed
            log.warning("TensorFlow is already initialised in this process; %d threads not applied", threads)
    gpus = tf.config.list_physical_devices("GPU")
    if device == "gpu" and not gpus:
        raise RuntimeError("training.device is 'gpu' but tensorflow sees no GPU (is tensorflow-cpu installed?)")
    if device == "cpu" and gpus:
        tf.config.set_visible_devices([], "GPU")
        gpus = []
    tf.config.experimental.enable_op_determinism()
    return "gpu" if gpus else "cpu"


class Classifier:
    """A VoxPoolNetwork with its loss, compiled train and predict steps for one stream cache."""

    def __init__(self, store_path, config: ECNConfig, seed: int):
        self.store_path, self.config = store_path, config
        with StreamStore(store_path) as store:
            self.params = store.params
        keras.utils.set_random_seed(seed)
        self.model = VoxPoolNetwork(config, seed)
        self.binary = config.binary_logit
        self.loss = (keras.losses.BinaryCrossentropy(from_logits=True) if self.binary
                     else keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        spec = input_signature(self.params, config.voxel_levels)
        self.predict_step = tf.function(self._predict_step, input_signature=spec)
        self.spec = spec

    def data_loss(self, labels, logits):
        if self.binary:
            return self.loss(tf.cast(labels[:, None], logits.dtype), logits)
        return self.loss(labels, logits)

    def scores(self, logits: np.ndarray) -> np.ndarray:
        """Class scores for the metrics: the logits, or (0, logit) for a single binary logit."""
        return np.concatenate([np.zeros_like(logits), logits], axis=1) if self.binary else logits

    def _predict_step(self, inputs, labels):
        logits = self.model(inputs, training=False)
        return self.data_loss(labels, logits) * tf.cast(tf.size(labels), tf.float32), logits

    def train_step_for(self, optimizer):
        """A compiled step that trains the model on one batch: (mean data loss, logits)."""
        model = self.model

        def step(inputs, labels):
            with tf.GradientTape() as tape:
                logits = model(inputs, training=True)
                loss = self.data_loss(labels, logits)
                total = loss + tf.add_n(model.losses) if model.losses else loss
            gradients = tape.gradient(total, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return loss, logits

        return tf.function(step, input_signature=self.spec)

    def passes(self, split: str, batch_size: int = EVAL_BATCH, *, shuffle: bool = False, seed: int = 0,
               shuffle_buffer: int = 1024, first_epoch: int = 0, first_batch: int = 0) -> Passes:
        """A pipeline for successive passes over a split, shuffled per (seed, epoch) or in stored order."""

        def order_of(epoch):
            with StreamStore(self.store_path) as store:
                return split_order(store, split, batch_size, shuffle=shuffle, seed=seed, epoch=epoch,
                                   shuffle_buffer=shuffle_buffer)

        return Passes(self.store_path, split, self.config.voxel_levels, order_of, first_epoch, first_batch)

    def build(self) -> None:
        """Create the model's variables by running it once on a batch of the validation split."""
        passes = self.passes("val", batch_size=2)
        inputs, labels = next(passes.next_pass())
        passes.close()
        self.predict_step(inputs, labels)

    def evaluate(self, passes: Passes):
        """(mean loss, accuracy, scores, labels) of the model in inference mode over the next pass of ``passes``."""
        total, scores, labels = 0.0, [], []
        for inputs, batch_labels in passes.next_pass():
            loss_sum, logits = self.predict_step(inputs, batch_labels)
            total += float(loss_sum)
            scores.append(self.scores(logits.numpy()))
            labels.append(batch_labels.numpy())
        scores, labels = np.concatenate(scores), np.concatenate(labels)
        return total / labels.size, float(np.mean(scores.argmax(1) == labels)), scores, labels


def _arrays(variables) -> dict[str, np.ndarray]:
    return {f"{k:04d}": np.asarray(v.numpy()) for k, v in enumerate(variables)}


def _assign(variables, arrays: dict, what: str, path) -> None:
    if len(arrays) != len(variables):
        raise ValueError(f"{path}: {what} has {len(arrays)} arrays, the model has {len(variables)} variables")
    for k, variable in enumerate(variables):
        value = arrays[f"{k:04d}"]
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(f"{path}: {what} array {k} ({variable.path}) has shape {value.shape}, "
                             f"expected {tuple(variable.shape)}")
        variable.assign(value)


def save_arrays(path: Path, groups: dict[str, dict[str, np.ndarray]], state: dict) -> None:
    """Write groups of arrays and a JSON state to one .npz, atomically."""
    flat = {f"{group}/{key}": value for group, arrays in groups.items() for key, value in arrays.items()}
    with atomic_output(path) as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, state=np.array(json.dumps(state)), **flat)


def load_arrays(path: Path) -> tuple[dict[str, dict[str, np.ndarray]], dict]:
    """The groups of arrays and the JSON state of a file written by ``save_arrays``."""
    with np.load(path) as data:
        groups: dict[str, dict[str, np.ndarray]] = {}
        for name in data.files:
            if name != "state":
                group, key = name.split("/")
                groups.setdefault(group, {})[key] = data[name]
        return groups, json.loads(str(data["state"]))


def load_weights(classifier: Classifier, path) -> dict:
    """Load a best.npz into a built classifier; returns its state (epoch, val_accuracy)."""
    groups, state = load_arrays(Path(path))
    _assign(classifier.model.weights, groups["weights"], "weights", path)
    return state


def epochs_done(last: Path) -> int:
    """Epochs a checkpoint ``last.npz`` has trained."""
    with np.load(last) as data:
        return len(json.loads(str(data["state"]))["history"])


def train_run(stream_path, run_dir, model_config: ECNConfig, train_config: TrainConfig, seed: int,
              progress: bool = True, threads: int | None = None) -> pd.DataFrame:
    """Train (or resume) one run × seed; writes checkpoints/, history.csv and model.json in ``run_dir``.

    ``threads``: TensorFlow's CPU threads (the job's; None leaves TensorFlow's default).
    """
    run_dir = Path(run_dir)
    checkpoints = run_dir / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    device = configure_tensorflow(train_config.device, threads)
    classifier = Classifier(stream_path, model_config, seed)
    classifier.build()
    model = classifier.model
    optimizer = keras.optimizers.Adam(train_config.lr)
    optimizer.build(model.trainable_variables)
    train_step = classifier.train_step_for(optimizer)
    plateau = Plateau(train_config.lr, train_config.plateau_patience, train_config.plateau_factor)
    with StreamStore(stream_path) as store:
        copies = store.copies("train")
    history, best, position, partial, compute = [], None, {"epoch": 0, "batch": 0}, None, None
    last = checkpoints / "last.npz"
    if last.exists():
        groups, state = load_arrays(last)
        _assign(model.variables, groups["model"], "model variables", last)
        _assign(optimizer.variables, groups["optimizer"], "optimizer variables", last)
        plateau.state, history = state["plateau"], state["history"]
        position, partial = state["position"], state["partial"]
        best = {"weights": groups["best"], **state["best"]} if state["best"] else None
        compute = state.get("compute")
        log.info("resuming from %s at epoch %d, batch %d", last, position["epoch"], position["batch"])
    meter = ComputeMeter(compute)

    def save_checkpoint(epoch: int, batch: int, sums: dict | None) -> None:
        """last.npz at the input pipeline's position (epoch, batch), with the epoch's running sums when mid-epoch."""
        at = {"epoch": epoch, "batch": batch, "copy": epoch % copies, "shuffle_seed": [seed, epoch]}
        groups = {"model": _arrays(model.variables), "optimizer": _arrays(optimizer.variables)}
        if best:
            groups["best"] = best["weights"]
        save_arrays(last, groups, {"position": at, "partial": sums, "plateau": plateau.state, "history": history,
                                   "best": {"epoch": best["epoch"], "val_accuracy": best["val_accuracy"]} if best
                                   else None, "compute": meter.update()})

    train_passes = classifier.passes("train", train_config.batch_size, shuffle=True, seed=seed,
                                     shuffle_buffer=train_config.shuffle_buffer, first_epoch=position["epoch"],
                                     first_batch=position["batch"])
    val_passes = classifier.passes("val")
    every = train_config.checkpoint_every_batches
    for epoch in range(position["epoch"], train_config.epochs):
        began = time.perf_counter()
        lr = plateau.lr * train_config.lr_decay**epoch
        optimizer.learning_rate.assign(lr)
        sums = partial or {"loss_sum": 0.0, "correct": 0, "seen": 0, "seconds": 0.0}  # a resumed epoch's so far
        partial = None
        first_batch = position["batch"] if epoch == position["epoch"] else 0
        total = train_passes.batches_in(epoch)
        batches = tqdm(train_passes.next_pass(), desc=f"epoch {epoch}", disable=not progress, mininterval=5,
                       leave=False)
        for batch, (inputs, labels) in enumerate(batches, start=first_batch + 1):  # batch: how many are done
            loss, logits = train_step(inputs, labels)
            labels = labels.numpy()
            sums["loss_sum"] += float(loss) * labels.size
            sums["correct"] += int(np.sum(classifier.scores(logits.numpy()).argmax(1) == labels))
            sums["seen"] += labels.size
            if every and batch % every == 0 and batch < total:
                save_checkpoint(epoch, batch, {**sums, "seconds": sums["seconds"] + time.perf_counter() - began})
        val_loss, val_acc, _, _ = classifier.evaluate(val_passes)
        row = {"epoch": epoch, "lr": lr, "train_loss": sums["loss_sum"] / sums["seen"],
               "train_accuracy": sums["correct"] / sums["seen"], "val_loss": val_loss, "val_accuracy": val_acc,
               "seconds": sums["seconds"] + time.perf_counter() - began}
        history.append(row)
        plateau.update(row[train_config.plateau_monitor])
        log.info("epoch %d: train loss %.4f acc %.4f | val loss %.4f acc %.4f | lr %.2g", epoch, row["train_loss"],
                 row["train_accuracy"], val_loss, val_acc, lr)
        if best is None or val_acc > best["val_accuracy"]:
            best = {"weights": _arrays(model.weights), "epoch": epoch, "val_accuracy": val_acc}
        save_checkpoint(epoch + 1, 0, None)
        write_history(run_dir / "history.csv", history)

    if position["epoch"] >= train_config.epochs:
        log.info("%s already holds all %d epochs: rewriting its outputs from the checkpoint", last, len(history))
        write_history(run_dir / "history.csv", history)
    train_passes.close()
    val_passes.close()
    save_arrays(checkpoints / "best.npz", {"weights": best["weights"]},
                {"epoch": best["epoch"], "val_accuracy": best["val_accuracy"]})
    counts = parameter_counts(model)
    description = {"family": "ecn", "architecture": "VoxPoolNetwork", "config": model_config.as_dict(),
                   "training": asdict(train_config), "seed": seed, "device": device,
                   "threads": tf.config.threading.get_intra_op_parallelism_threads() or None,  # None: TF default
                   "parameters": counts["trainable"], "non_trainable_parameters": counts["non_trainable"],
                   "train_wall_time_s": float(sum(row["seconds"] for row in history)), "compute": meter.update()}
    with atomic_output(run_dir / "model.json") as temporary:
        temporary.write_text(json.dumps(description, indent=2))
    return pd.DataFrame(history)
