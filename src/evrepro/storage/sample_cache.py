"""Per-sample caches derived from an events store (graphs, streams): one builder loop and one reader base.

A cache has one HDF5 group per split of the events store, holding whatever ragged columns the
preprocessing writes plus ``label``; root attributes follow the file contract (docs/architecture.md). A split may hold
several transformed copies of its samples (augmentation): copy r of sample i of n is stored at
``r * n + i``, so each copy is one contiguous range, and the group attribute ``copies`` says how many.
"""

import json
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from evrepro.datasets.store import EventsStore
from evrepro.errors import EvreproError
from evrepro.storage.fileio import atomic_output, sha256_file
from evrepro.storage.h5meta import H5Store, root_attributes
from evrepro.storage.stored_names import from_stored


class SampleError(EvreproError):
    """A sample of an events store that the preprocessing cannot take; names the store, split and sample."""


def require_algorithm(params, current: int, what: str) -> None:
    """Refuse ``params`` that ask for another version (``params.algorithm``) of a cache's computation than this
    code's ``current`` one; ``what`` names the cache kind (graph, stream)."""
    if params.algorithm != current:
        raise ValueError(f"{what} algorithm {params.algorithm} asked for; this code computes {current}")


def versioned_params(params_class):
    """A reader's ``PARAMS``: ``params_class`` from a store's params (``stored_names``), version 1 for stores written
    before the algorithm was recorded."""
    def stored_params(**stored):
        return from_stored(params_class, {"algorithm": 1, **stored})

    return stored_params


def build_sample_cache(events_path, out_path, format_name: str, params: dict, split_writer, *, desc: str,
                       extra_attributes=None, copies=None, transform=None, progress: bool = True) -> dict[str, int]:
    """Preprocess every sample of an events store into ``out_path``, atomically; returns samples per split.

    ``split_writer(group, events_store)`` returns an object with ``add(events, split, index)`` and ``close()``;
    ``extra_attributes(events_store)`` returns root attributes beyond the common ones. ``copies(split)``
    (default 1) copies of each sample are stored, copy r being ``transform(events, split, index, r)``.
    """
    counts = {}
    with EventsStore(events_path) as events, atomic_output(out_path) as temporary:
        with h5py.File(temporary, "w") as handle:
            handle.attrs.update(root_attributes(
                format_name, params, {Path(events_path).name: sha256_file(events_path)},
                sensor_size=list(events.sensor_size), class_names=json.dumps(events.class_names),
                **(extra_attributes(events) if extra_attributes else {})))
            for split in events.splits:
                group = handle.create_group(split)
                group.attrs["copies"] = repeats = copies(split) if copies else 1
                writer = split_writer(group, events)
                n = events.num_samples(split)
                for k in tqdm(range(n * repeats), desc=f"{desc} {split}", disable=not progress, mininterval=2):
                    r, i = divmod(k, n)
                    sample = events.sample(split, i)
                    try:
                        writer.add(transform(sample, split, i, r) if transform else sample, split, k)
                    except ValueError as error:
                        raise SampleError(f"{events_path}: {split} sample {i} "
                                          f"({events.sample_ids(split)[i]}): {error}") from error
                writer.close()
                group.create_dataset("label", data=np.tile(events.labels(split), repeats))
                counts[split] = n * repeats
    return counts


class SampleCacheReader(H5Store):
    """A cache reader: the common store attributes plus the typed preprocessing params and labels."""

    PARAMS = dict

    def __init__(self, path):
        super().__init__(path)
        self.params = self.PARAMS(**json.loads(self.handle.attrs["params"]))

    def labels(self, split: str):
        return self.handle[split]["label"][:]

    def num_samples(self, split: str) -> int:
        """Stored samples of a split, every copy counted."""
        return self.handle[split]["label"].shape[0]

    def copies(self, split: str) -> int:
        """How many (augmented) copies of each source sample the split holds."""
        return int(self.handle[split].attrs.get("copies", 1))
