"""The best checkpoint of an ECN run, and its predictions on a split of the stream cache."""

from pathlib import Path

from evrepro.ecn.checkpoint import assign_arrays, load_arrays
from evrepro.ecn.classifier import Classifier, configure_tensorflow
from evrepro.ecn.presets import ECNConfig
from evrepro.training.record import ModelRecord


def load_best(cache_path, best_path, record: ModelRecord, threads: int | None = None, device: str = "auto"):
    """The best-on-validation network of a run, built on its stream cache, and its {"epoch", "val_accuracy"}.

    ``record`` is the run's model.json (``ModelRecord``); ``threads`` sets TensorFlow's CPU threads.
    """
    configure_tensorflow(device, threads)
    classifier = Classifier(cache_path, ECNConfig.from_dict(record.config), record.seed)
    classifier.build()
    groups, state = load_arrays(Path(best_path))
    assign_arrays(classifier.model.weights, groups["weights"], "weights", best_path)
    return classifier, {"epoch": state["epoch"], "val_accuracy": state["val_accuracy"]}


def predict(classifier: Classifier, cache_path, split: str = "test"):
    """(scores, labels, mean loss) of a split."""
    passes = classifier.passes(split)
    loss, _, scores, labels = classifier.evaluate(passes)
    passes.close()
    return scores, labels, loss
