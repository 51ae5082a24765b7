"""Frozen splits: the release's own where it has them, otherwise derived from sample ids and a seed.

A derived split is stratified by class and drawn over *source groups*: samples whose ids share the
part before the first ``-`` are recordings of one source image (the embedded ``digits`` names them
``<image>-<recording>``) and always land in the same split. Each class's groups are sorted, then
permuted by a generator seeded with ``split_seed``, so the split depends on neither listing order nor
machine. The result is written as a manifest of sample ids per split; its SHA-256 is stored in the
events store and shown in ``results/tables/datasets.csv``, so two runs can prove they saw the same
samples.
"""

import hashlib
import json

import numpy as np

SPLITS = ("train", "val", "test")


def source_group(sample_id: str) -> str:
    """The source a sample was recorded from: its id up to the first ``-``."""
    return sample_id.split("-", 1)[0]


def holdout(sample_ids: list[str], labels: np.ndarray, fractions: dict[str, float], seed: int) -> np.ndarray:
    """Assign each sample ``"train"`` or one of ``fractions``' splits (about that fraction of each class's groups).

    Splits are carved in the order of ``fractions`` from one seeded permutation per class.
    """
    groups = np.array([source_group(sample_id) for sample_id in sample_ids])
    labels = np.asarray(labels)
    assigned = np.full(len(sample_ids), "train", dtype=object)
    rng = np.random.default_rng([seed, 4])
    for label in np.unique(labels):
        order = rng.permutation(np.unique(groups[labels == label]))  # np.unique sorts: order-independent
        start = 0
        for split, fraction in fractions.items():
            count = int(round(fraction * order.size))
            assigned[(labels == label) & np.isin(groups, order[start : start + count])] = split
            start += count
    return assigned.astype(str)


def assign_splits(release_splits: list[str | None], sample_ids: list[str], labels: np.ndarray,
                  val_fraction: float, test_fraction: float, seed: int) -> np.ndarray:
    """Every sample's split: the release's, with ``val`` (and ``test`` where the release has none) derived."""
    splits = np.array([split or "train" for split in release_splits], dtype=object)
    has_test = any(split == "test" for split in release_splits)
    has_val = any(split == "val" for split in release_splits)
    fractions = {} if has_val else {"val": val_fraction}
    if not has_test:
        fractions["test"] = test_fraction
    pool = np.flatnonzero(splits == "train")
    if fractions and pool.size:
        splits[pool] = holdout([sample_ids[i] for i in pool], np.asarray(labels)[pool], fractions, seed)
    return splits.astype(str)


def split_manifest(dataset: str, splits: np.ndarray, sample_ids: list[str], policy: dict) -> dict:
    """The manifest: per split the sorted sample ids, and how the split was made."""
    return {
        "dataset": dataset,
        "policy": policy,
        "splits": {split: sorted(sid for sid, s in zip(sample_ids, splits) if s == split)
                   for split in SPLITS if split in set(splits)},
    }


def manifest_hash(manifest: dict) -> str:
    """SHA-256 of the manifest's sample-id lists (canonical JSON): equal hashes, equal samples."""
    canonical = json.dumps(manifest["splits"], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
