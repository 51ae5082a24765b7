"""A run's test results on disk, in one shape for both model families: metrics.json and confusion.csv."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from evrepro.evaluation.metrics import classification_metrics
from evrepro.fileio import atomic_output

# copied from a run's model.json / best checkpoint into metrics.json
DESCRIPTION_KEYS = ("best_epoch", "best_val_accuracy", "parameters", "train_wall_time_s", "device", "seed")


def write_test_results(run_dir, family: str, scores: np.ndarray, labels: np.ndarray, loss: float,
                       class_names: list[str], description: dict) -> dict:
    """Write metrics.json (accuracy, top-3, loss, samples and the run's description) and confusion.csv."""
    run_dir = Path(run_dir)
    result = classification_metrics(scores, labels)
    metrics = {"family": family, "test_accuracy": result["accuracy"], "test_top3_accuracy": result["top3_accuracy"],
               "test_loss": float(loss), "test_samples": result["samples"],
               **{key: description[key] for key in DESCRIPTION_KEYS}}
    confusion = pd.DataFrame(result["confusion"], index=pd.Index(class_names, name="true"), columns=class_names)
    with atomic_output(run_dir / "confusion.csv") as temporary:
        confusion.to_csv(temporary)
    with atomic_output(run_dir / "metrics.json") as temporary:
        temporary.write_text(json.dumps(metrics, indent=2))
    return metrics
