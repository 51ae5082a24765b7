"""PyG datasets over the graph stores: one ``Data`` per sample, read from HDF5 on demand and kept in memory up to
``KEPT_BYTES`` per dataset, so that a small store (the embedded datasets') is read from disk once, not every epoch.
A sample's ``x`` and ``pos`` share memory with the kept arrays: callers must not change them in place (collation
copies them; nothing in evrepro writes into a sample)."""

import numpy as np
import torch
from torch_geometric.data import Data, Dataset

from evrepro.graphs.detection_store import DetectionGraphStore
from evrepro.graphs.store import GraphStore

KEPT_BYTES = 1 << 29  # samples a dataset keeps in memory after their first read, at most (a sample read: ~1 ms)


class GraphStoreDataset(Dataset):
    """The samples of one split of a graph store, or a fixed random subset of ``limit`` of them.

    Stores are ordered by class, so a subset is drawn at random (seed 0, the same for every run)
    rather than taken from the front.
    """

    STORE = GraphStore

    def __init__(self, path, split: str, limit: int | None = None):
        super().__init__()
        self.path, self.split = str(path), split
        with self.STORE(self.path) as store:
            total = store.num_samples(split)
        if limit is None or limit >= total:
            self.subset = np.arange(total)
        else:
            self.subset = np.sort(np.random.default_rng(0).choice(total, size=limit, replace=False))
        self._store, self._kept, self._kept_bytes = None, {}, 0

    def len(self) -> int:
        return self.subset.size

    def get(self, index: int) -> Data:
        sample = self._kept.get(index)
        if sample is None:
            if self._store is None:  # opened lazily, once per process
                self._store = self.STORE(self.path)
            sample = self._store.sample(self.split, int(self.subset[index]))
            size = sum(value.nbytes for value in sample.values() if isinstance(value, np.ndarray))
            if self._kept_bytes + size <= KEPT_BYTES:
                self._kept[index], self._kept_bytes = sample, self._kept_bytes + size
        return self.data(sample)

    @staticmethod
    def data(sample: dict) -> Data:
        return Data(x=torch.from_numpy(sample["x"]), pos=torch.from_numpy(sample["pos"]),
                    edge_index=torch.from_numpy(sample["edge_index"].astype("int64")),
                    y=torch.tensor([sample["label"]]))


class DetectionGraphDataset(GraphStoreDataset):
    """The windows of one split of a detection graph store, each with its true boxes (``bbox``, K×5: x, y, w, h,
    class) and label time (``label_t``, µs)."""

    STORE = DetectionGraphStore

    @staticmethod
    def data(sample: dict) -> Data:
        return Data(x=torch.from_numpy(sample["x"]), pos=torch.from_numpy(sample["pos"]),
                    edge_index=torch.from_numpy(sample["edge_index"].astype("int64")),
                    bbox=torch.from_numpy(sample["boxes"]), label_t=torch.tensor([sample["label_t"]]))
