"""The train and evaluate stages of both model families: one skeleton, a small interface per family.

A family's trainer (``evrepro.aegnn.family.TRAINER``, ``evrepro.ecn.family.TRAINER``; ``evrepro.families.trainer``
finds it by name) says how to build its model
configuration from a cache, train (resumably, writing its best checkpoint), count how far a checkpoint
got, load the best checkpoint and predict a split. Everything else is shared and done here, once: the
run folder's claim (``evrepro.training.folder``) and the run record (``evrepro.training.record``): the resolved
``config.yaml``, ``history.csv``, ``model.json`` and ``metrics.json`` / ``confusion.csv``. Every path is the caller's
(the rule's declared outputs); nothing is written under a name of this module's choosing except the
checkpoint folder's own state (``last.*``, ``training.json``) beside the best checkpoint.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from evrepro.layout import run_folder
from evrepro.storage.stored_names import stored
from evrepro.training.execution import Execution
from evrepro.training.folder import RunFolder, training_identity
from evrepro.training.preemption import held_signals
from evrepro.training.record import (Compute, ModelRecord, read_record, write_config,
                                     write_detection_results, write_history, write_record, write_test_results)


@dataclass(frozen=True)
class Trained:
    """What a family's training reports for the run record."""

    history: list[dict]  # one row per epoch: epoch, lr, train/val loss and accuracy, seconds
    device: str
    threads: int | None  # the framework's CPU threads; None: its default
    parameters: dict[str, int]  # {"trainable": ..., "non_trainable": ...}
    compute: dict  # evrepro.training.folder.ComputeMeter totals over every job of the training


@dataclass(frozen=True)
class Trainer:
    """A model family's framework side, as the shared stages use it (its plain facts: ``evrepro.families``)."""

    name: str  # the config's ``model``
    architecture: str
    checkpoint_format: str  # a checkpoint of another format is set aside, not resumed
    store: type  # its cache reader (a SampleCacheReader)
    train_config: type  # its training recipe (a dataclass; the run's ``training`` block)
    model_config: Callable  # (cache_path, network block) -> model config with ``as_dict()``
    epochs_done: Callable[[Path], int]  # epochs a checkpoint ``last.*`` holds
    train: Callable[..., Trained]  # (cache_path, best_path, model_config, training, seed, *, execution, threads,
    #                                 progress, on_epoch) -> Trained; checkpoints beside best_path, resumed from there
    load_best: Callable  # (cache_path, best_path, ModelRecord, threads, device) -> (model, {"epoch", <val score>})
    predict: Callable  # (model, cache_path, split) -> classification: (scores [N, C], labels [N], mean loss);
    #                    detection: (frames, recording ids, mean loss, the trivial baseline's detections)
    task: str = "classification"  # or "detection"


@dataclass(frozen=True)
class TrainOutputs:
    """A training job's declared outputs. The checkpoints' folder is the best checkpoint's, in the run × seed folder
    (``evrepro.layout.run_folder``)."""

    best: Path
    history: Path
    model: Path
    config: Path

    @classmethod
    def of(cls, best, history, model, config) -> "TrainOutputs":
        return cls(Path(best), Path(history), Path(model), Path(config))


def train_stage(family: Trainer, cache_path, outputs: TrainOutputs, name: str, run: dict, seed: int, *,
                threads: int | None = None, progress: bool = True) -> Trained:
    """Train one run × seed: resumed, restored or anew (``RunFolder.claim``), then its run record written.

    ``run`` is the run's config block; its ``execution`` block says how (device, replicas, checkpoint cadence). A
    SIGTERM or SIGUSR1 outside the training loop is held (``evrepro.training.preemption``), never fatal.
    """
    with held_signals():
        return _train_and_record(family, cache_path, outputs, name, run, seed, threads, progress)


def _train_and_record(family: Trainer, cache_path, outputs: TrainOutputs, name: str, run: dict, seed: int,
                      threads: int | None, progress: bool) -> Trained:
    execution = Execution.of(run.get("execution"), family.name)
    config = family.model_config(cache_path, run["network"])
    training = family.train_config(**run["training"])
    identity = training_identity(family.name, run["dataset"], seed, cache_path, config.as_dict(), stored(training),
                                 family.checkpoint_format)
    RunFolder(run_folder(outputs.best)).claim(identity, family.epochs_done)
    with family.store(cache_path) as store:
        preprocessing = store.params.as_dict()
    write_config(outputs.config, run=name, family=family.name, dataset=run["dataset"], seed=seed,
                 preprocessing=preprocessing, network=config.as_dict(), training=stored(training))
    trained = family.train(cache_path, outputs.best, config, training, seed, execution=execution, threads=threads,
                           progress=progress, on_epoch=partial(write_history, outputs.history))
    write_history(outputs.history, trained.history)  # also when the training was complete before this job
    write_record(outputs.model, ModelRecord(
        family=family.name, architecture=family.architecture, config=config.as_dict(), training=stored(training),
        seed=seed, device=trained.device, threads=trained.threads, parameters=trained.parameters["trainable"],
        non_trainable_parameters=trained.parameters["non_trainable"], compute=Compute(**trained.compute),
        preprocessing=preprocessing))
    return trained


def evaluate_stage(family: Trainer, cache_path, best, model_json, metrics, details, *,
                   threads: int | None = None, device: str = "auto", split: str = "test"):
    """Test metrics of a run × seed's best checkpoint: ``metrics`` (JSON) and ``details``, the confusion matrix (CSV)
    of a classifier or the detections (npz) of a detector (``Family.evaluation``)."""
    record = read_record(ModelRecord, model_json)
    model, best_state = family.load_best(cache_path, best, record, threads, device)
    predictions = family.predict(model, cache_path, split)
    with family.store(cache_path) as store:
        class_names, sensor_size = store.class_names, store.sensor_size
    if family.task == "detection":
        return write_detection_results(metrics, details, record, best_state, *predictions, class_names, sensor_size)
    scores, labels, loss = predictions
    return write_test_results(metrics, details, record, best_state, np.asarray(scores), np.asarray(labels), loss,
                              class_names)

