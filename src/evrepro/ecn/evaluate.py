"""Evaluate the best checkpoint of an ECN run on the test split: metrics.json and confusion.csv."""

import json
from pathlib import Path

from evrepro.ecn.presets import ECNConfig
from evrepro.ecn.train import Classifier, configure_tensorflow, load_weights
from evrepro.evaluation.results import write_test_results


def load_classifier(stream_path, run_dir, device: str = "auto", threads: int | None = None) -> tuple[Classifier, dict]:
    """The best-on-validation network of a run, and its model.json with the best epoch and accuracy."""
    run_dir = Path(run_dir)
    description = json.loads((run_dir / "model.json").read_text())
    configure_tensorflow(device, threads)
    config = description["config"]
    config = ECNConfig(**{**config, "level_shapes": tuple(tuple(shape) for shape in config["level_shapes"]),
                          "hidden_units": tuple(config["hidden_units"])})
    classifier = Classifier(stream_path, config, description["seed"])
    classifier.build()
    best = load_weights(classifier, run_dir / "checkpoints" / "best.npz")
    description["best_epoch"], description["best_val_accuracy"] = best["epoch"], best["val_accuracy"]
    return classifier, description


def evaluate_run(stream_path, run_dir, class_names: list[str], device: str = "auto",
                 threads: int | None = None) -> dict:
    """Test metrics of a run's best checkpoint, written to metrics.json and confusion.csv (``threads``: TF's)."""
    classifier, description = load_classifier(stream_path, run_dir, device, threads)
    passes = classifier.passes("test")
    loss, _, scores, labels = classifier.evaluate(passes)
    passes.close()
    return write_test_results(run_dir, "ecn", scores, labels, loss, class_names, description)
