"""Train and evaluate a run × seed into a folder through the shared stages, as the workflow's jobs do."""

from dataclasses import asdict
from pathlib import Path

from evrepro.families import family as family_named
from evrepro.training.stages import TrainOutputs, evaluate_stage, train_stage


def outputs_in(folder, family) -> TrainOutputs:
    """A training's outputs laid out in ``folder`` as in a run × seed folder."""
    folder = Path(folder)
    best = folder / "checkpoints" / f"best{family_named(family.name).checkpoint_suffix}"
    return TrainOutputs.of(best, folder / "history.csv", folder / "model.json", folder / "config.yaml")


def train(family, cache, folder, network: dict, training: dict, seed: int = 0, execution: dict | None = None,
          threads: int = 1):
    """Train (or resume) into ``folder`` with ``threads``; returns what the family's training reported."""
    run = {"dataset": "digits", "network": network, "training": training, "execution": execution or {}}
    return train_stage(family, cache, outputs_in(folder, family), "run", run, seed, threads=threads, progress=False)


def evaluate(family, cache, folder) -> dict:
    """Test metrics of the training in ``folder``, written beside it (metrics.json as a dict) with the confusion
    matrix (confusion.csv) or the detections (detections.npz)."""
    outputs, folder = outputs_in(folder, family), Path(folder)
    details = folder / ("detections.npz" if family.task == "detection" else "confusion.csv")
    return asdict(evaluate_stage(family, cache, outputs.best, outputs.model, folder / "metrics.json", details,
                                 threads=1))
