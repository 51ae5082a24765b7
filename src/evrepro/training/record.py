"""The run record of a run × seed, written and read here and nowhere else.

Files (each written atomically, at the paths the caller gives): ``config.yaml`` (the resolved run),
``history.csv`` (per epoch), ``model.json`` (``ModelRecord``: what was trained, how, on what, at what
cost), the test results ``metrics.json`` (``MetricsRecord``) and ``confusion.csv``, and for an asynchronous
family ``async.json`` (``AsyncResult``). The JSON files hold exactly the dataclasses declared below;
``read_run_records`` gives every table and figure the same typed view of them.

Vocabulary, one name per quantity in every table: ``family``; ``train_hours``, the wall time of every job
that ran the training (``Compute``, carried across resumes by the checkpoints) in hours;
``dense_mflops_per_event`` / ``async_mflops_per_event`` under a named FLOP convention.
"""

import csv
import json
import types
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Union, get_args, get_origin, get_type_hints

import numpy as np
import yaml

from evrepro.errors import EvreproError
from evrepro.evaluation.metrics import classification_metrics
from evrepro.layout import run_and_seed
from evrepro.storage.fileio import atomic_output

ASYNC_FORMAT = 3  # async.json's shape; a rule that writes it re-runs when it changes (its params hold it)


class RecordError(EvreproError):
    """A run record that lacks a declared key."""


@dataclass(frozen=True)
class Compute:
    """Wall time, CPU time and peak memory of a training over every job that ran it."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    jobs: int

    @property
    def train_hours(self) -> float:
        return self.wall_s / 3600


@dataclass(frozen=True)
class ModelRecord:
    """model.json: the trained network, its training settings and the compute it took."""

    family: str
    architecture: str
    config: dict
    training: dict
    seed: int
    device: str
    threads: int
    parameters: int
    non_trainable_parameters: int
    compute: Compute
    preprocessing: dict = field(default_factory=dict)  # its cache's parameters (absent from records before it)


@dataclass(frozen=True)
class MetricsRecord:
    """metrics.json: the best checkpoint scored on the test split."""

    family: str
    seed: int
    test_accuracy: float
    test_top3_accuracy: float
    test_loss: float
    test_samples: int
    best_epoch: int
    best_val_accuracy: float
    parameters: int
    device: str


@dataclass(frozen=True)
class DetectionMetricsRecord:
    """metrics.json of a detection run: the best checkpoint's detections on the test windows, scored under every
    definition of ``evrepro.detection.metrics.METRICS`` (None where one is undefined), beside the trivial baseline's
    (``evrepro.detection.baseline``) on the same windows."""

    family: str
    seed: int
    task: str
    scores: dict[str, float | None]
    baseline: dict[str, float | None]
    test_loss: float
    test_samples: int
    best_epoch: int
    best_val_coco_ap: float
    parameters: int
    device: str


@dataclass(frozen=True)
class FlopCount:
    """MFLOP per event of the asynchronous engine and of the same network run densely."""

    dense_mflops_per_event: float
    async_mflops_per_event: float


@dataclass(frozen=True)
class LayerFlops(FlopCount):
    log10_dense_over_async: float | None  # None where either count is zero


@dataclass(frozen=True)
class Convention(FlopCount):
    description: str


@dataclass(frozen=True)
class Latency:
    mean: float
    median: float
    samples: int


@dataclass(frozen=True)
class Latencies:
    """Milliseconds per event, asynchronous and dense, on ``device`` with ``threads`` CPU threads."""

    asynchronous: Latency
    dense: Latency
    device: str
    threads: int
    dense_timing: str


@dataclass(frozen=True)
class Speedup:
    flops: float
    latency_mean: float
    latency_median: float


@dataclass(frozen=True)
class Exactness:
    """The largest difference between the asynchronous engine and the dense model where they were compared."""

    logits: float
    any_layer: float
    checks: int
    checked_at: str


@dataclass(frozen=True)
class ScoreCurve:
    """The test score of the dense model after the first n events of every stream: ``metric`` is ``accuracy``
    (classification) or ``coco_ap50`` (detection, ``evrepro.detection.metrics.METRICS``)."""

    events: list
    metric: str
    score: list
    samples: list
    method: str


@dataclass(frozen=True)
class AsyncResult:
    """async.json: the event-by-event evaluation of a run × seed's best model.

    ``conventions`` holds every FLOP convention by name; ``"evrepro"`` (``flops``) is the pinned one
    (``flop_definition``), the others are those the literature uses.
    """

    format: int
    flop_definition: str
    split: str
    streams: int
    stream_indices: list
    events: int
    graph: dict
    conventions: dict[str, Convention]
    layers: dict[str, LayerFlops]
    latency_ms_per_event: Latencies
    speedup: Speedup
    max_abs_difference: Exactness
    score_vs_events: ScoreCurve

    @property
    def flops(self) -> Convention:
        return self.conventions["evrepro"]


@dataclass(frozen=True)
class RunRecord:
    """Everything recorded of one run × seed; ``asynchronous`` is None for a family without it."""

    run: str
    seed: int
    test: MetricsRecord
    model: ModelRecord
    asynchronous: AsyncResult | None


def _value(kind, value, where: str):
    if is_dataclass(kind):
        return _build(kind, value, where)
    origin = get_origin(kind)
    if origin is dict and get_args(kind):
        return {key: _value(get_args(kind)[1], item, f"{where}.{key}") for key, item in value.items()}
    if origin in (Union, types.UnionType):
        inner = [arg for arg in get_args(kind) if arg is not type(None)][0]
        return None if value is None else _value(inner, value, where)
    return value


def _build(cls, data: dict, where: str):
    """``cls`` from its JSON form; a missing key stops with one line naming it (other keys are ignored)."""
    hints = get_type_hints(cls)
    missing = [f.name for f in fields(cls) if f.name not in data and f.default is MISSING
               and f.default_factory is MISSING]
    if missing:
        raise RecordError(f"{where}: lacks {', '.join(missing)} (written by an older evrepro? rerun its rule)")
    return cls(**{f.name: _value(hints[f.name], data[f.name], f"{where}.{f.name}") for f in fields(cls)
                  if f.name in data})


def read_record(cls, path):
    """The record ``cls`` (``ModelRecord``, ``MetricsRecord`` or ``AsyncResult``) stored at ``path``."""
    return _build(cls, json.loads(Path(path).read_text()), str(path))


def write_record(path, record) -> None:
    """A record dataclass as JSON at ``path``, atomically."""
    with atomic_output(path) as temporary:
        temporary.write_text(json.dumps(asdict(record), indent=2))


def read_run_records(metrics_paths, model_paths, async_paths=()) -> list[RunRecord]:
    """One ``RunRecord`` per metrics.json, with the model.json and async.json of the same run × seed."""
    models = {run_and_seed(path): read_record(ModelRecord, path) for path in model_paths}
    asyncs = {run_and_seed(path): read_record(AsyncResult, path) for path in async_paths}
    records = []
    for path in metrics_paths:
        key = run_and_seed(path)
        if key not in models:
            raise RecordError(f"{path}: no model.json of run {key[0]} seed {key[1]} was given beside it")
        records.append(RunRecord(*key, read_record(MetricsRecord, path), models[key], asyncs.get(key)))
    return records


def write_config(path, **sections) -> None:
    """config.yaml: run, family, dataset, seed, preprocessing, network, training, as resolved."""
    resolved = json.loads(json.dumps(sections))  # plain lists and numbers for YAML
    with atomic_output(path) as temporary:
        temporary.write_text(yaml.safe_dump(resolved, sort_keys=False))


def write_history(path, history: list[dict]) -> None:
    """history.csv: one row per epoch trained so far."""
    with atomic_output(path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(history[0]) if history else ["epoch"])
        writer.writeheader()
        writer.writerows(history)


def write_test_results(metrics_path, confusion_path, model: ModelRecord, best_state: dict, scores: np.ndarray,
                       labels: np.ndarray, loss: float, class_names: list[str]) -> MetricsRecord:
    """metrics.json (``MetricsRecord``: accuracy, top-3, loss and samples, the best checkpoint's epoch and validation
    accuracy) and confusion.csv."""
    result = classification_metrics(scores, labels)
    metrics = MetricsRecord(family=model.family, seed=model.seed, test_accuracy=result["accuracy"],
                         test_top3_accuracy=result["top3_accuracy"], test_loss=float(loss),
                         test_samples=result["samples"], best_epoch=int(best_state["epoch"]),
                         best_val_accuracy=float(best_state["val_accuracy"]), parameters=model.parameters,
                         device=model.device)
    with atomic_output(confusion_path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["true", *class_names])
        writer.writerows([name, *map(int, row)] for name, row in zip(class_names, result["confusion"]))
    write_record(metrics_path, metrics)
    return metrics


def write_detection_results(metrics_path, detections_path, model: ModelRecord, best_state: dict, frames, recordings,
                            loss: float, baseline: np.ndarray, class_names, sensor_size) -> DetectionMetricsRecord:
    """metrics.json (``DetectionMetricsRecord``) and the detections (npz: ``truth`` and ``found``, ``BOX_DTYPE``
    concatenated over the samples with ``truth_offsets`` and ``found_offsets``, and each sample's ``recording``)."""
    # here, not above: the workflow reads this module while it plans, and evrepro.events loads numba
    from evrepro.detection.baseline import baseline_frames
    from evrepro.detection.metrics import detection_scores
    from evrepro.events.boxes import BOX_DTYPE

    metrics = DetectionMetricsRecord(
        family=model.family, seed=model.seed, task="detection",
        scores=detection_scores(frames, class_names, sensor_size, recordings),
        baseline=detection_scores(baseline_frames(frames, baseline), class_names, sensor_size, recordings),
        test_loss=float(loss), test_samples=len(frames), best_epoch=int(best_state["epoch"]),
        best_val_coco_ap=float(best_state["val_coco_ap"]), parameters=model.parameters, device=model.device)
    columns = {}
    for name, part in (("truth", 0), ("found", 1)):
        boxes = [frame[part] for frame in frames]
        columns[name] = np.concatenate(boxes) if boxes else np.zeros(0, BOX_DTYPE)
        columns[f"{name}_offsets"] = np.concatenate([[0], np.cumsum([len(b) for b in boxes])]).astype(np.int64)
    columns["recording"] = np.array(recordings, dtype=str)
    with atomic_output(detections_path) as temporary, open(temporary, "wb") as handle:
        np.savez(handle, **columns)
    write_record(metrics_path, metrics)
    return metrics
