"""Validation splits for datasets that ship only train and test.

Samples whose ids share the part before the first ``-`` are recordings of one source image (the
embedded ``digits`` names them ``<image>-<recording>``) and always land in the same split.
"""

import numpy as np


def source_group(sample_id: str) -> str:
    """The source a sample was recorded from: its id up to the first ``-``."""
    return sample_id.split("-", 1)[0]


def validation_mask(sample_ids: list[str], labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Mark about ``fraction`` of each class's source groups as validation, seeded and order-independent."""
    groups = np.array([source_group(sample_id) for sample_id in sample_ids])
    labels = np.asarray(labels)
    is_val = np.zeros(len(sample_ids), dtype=bool)
    rng = np.random.default_rng([seed, 4])
    for label in np.unique(labels):
        class_groups = np.unique(groups[labels == label])  # sorted: independent of listing order
        chosen = rng.permutation(class_groups)[: int(round(fraction * class_groups.size))]
        is_val |= (labels == label) & np.isin(groups, chosen)
    return is_val
