"""The run record of a run × seed, written here and nowhere else: ``config.yaml`` (the resolved run),
``history.csv`` (per epoch), ``model.json`` (what was trained, how, on what, at what cost) and the test
results ``metrics.json`` and ``confusion.csv``, each atomically, at the paths the caller gives."""

import csv
import json

import numpy as np
import yaml

from evrepro.evaluation.metrics import classification_metrics
from evrepro.storage.fileio import atomic_output

# copied from a run's model.json (and its best checkpoint) into metrics.json
RECORD_KEYS = ("best_epoch", "best_val_accuracy", "parameters", "train_wall_time_s", "device", "seed")


def write_config(path, **sections) -> None:
    """config.yaml: run, model, dataset, seed, preprocessing, network, training, as resolved."""
    resolved = json.loads(json.dumps(sections))  # plain lists and numbers for YAML
    with atomic_output(path) as temporary:
        temporary.write_text(yaml.safe_dump(resolved, sort_keys=False))


def write_history(path, history: list[dict]) -> None:
    """history.csv: one row per epoch trained so far."""
    with atomic_output(path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(history[0]) if history else ["epoch"])
        writer.writeheader()
        writer.writerows(history)


def write_model_record(path, record: dict) -> None:
    """model.json."""
    with atomic_output(path) as temporary:
        temporary.write_text(json.dumps(record, indent=2))


def write_test_results(metrics_path, confusion_path, family: str, scores: np.ndarray, labels: np.ndarray,
                       loss: float, class_names: list[str], record: dict) -> dict:
    """metrics.json (accuracy, top-3, loss, samples and ``RECORD_KEYS`` of the record) and confusion.csv."""
    result = classification_metrics(scores, labels)
    metrics = {"family": family, "test_accuracy": result["accuracy"], "test_top3_accuracy": result["top3_accuracy"],
               "test_loss": float(loss), "test_samples": result["samples"],
               **{key: record[key] for key in RECORD_KEYS}}
    with atomic_output(confusion_path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["true", *class_names])
        writer.writerows([name, *map(int, row)] for name, row in zip(class_names, result["confusion"]))
    with atomic_output(metrics_path) as temporary:
        temporary.write_text(json.dumps(metrics, indent=2))
    return metrics
