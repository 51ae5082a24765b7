"""Classification metrics from logits or scores (numpy only; shared by both model families)."""

import numpy as np


def top_k_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Fraction of samples whose label is among the ``k`` highest scores (ties: lower class first)."""
    if labels.size == 0:
        return float("nan")
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == labels[:, None], axis=1)))


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts with true classes in rows and predicted classes in columns."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def classification_metrics(scores: np.ndarray, labels: np.ndarray) -> dict:
    """Top-1 and top-3 accuracy and the confusion matrix of a score matrix (samples × classes)."""
    predicted = np.argmax(scores, axis=1)
    return {
        "accuracy": top_k_accuracy(scores, labels, 1),
        "top3_accuracy": top_k_accuracy(scores, labels, 3),
        "confusion": confusion_matrix(predicted, labels, scores.shape[1]),
        "samples": int(labels.size),
    }
