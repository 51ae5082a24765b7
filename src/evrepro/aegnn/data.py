"""PyG datasets over the graph store: one ``Data`` per sample, read from HDF5 on demand."""

import numpy as np
import torch
from torch_geometric.data import Data, Dataset

from evrepro.graphs.store import GraphStore


class GraphStoreDataset(Dataset):
    """The samples of one split of a graph store, or a fixed random subset of ``limit`` of them.

    Stores are ordered by class, so a subset is drawn at random (seed 0, the same for every run)
    rather than taken from the front.
    """

    def __init__(self, path, split: str, limit: int | None = None):
        super().__init__()
        self.path, self.split = str(path), split
        with GraphStore(self.path) as store:
            total = store.num_samples(split)
        if limit is None or limit >= total:
            self.subset = np.arange(total)
        else:
            self.subset = np.sort(np.random.default_rng(0).choice(total, size=limit, replace=False))
        self._store = None

    def len(self) -> int:
        return self.subset.size

    def get(self, index: int) -> Data:
        if self._store is None:  # opened lazily, once per process
            self._store = GraphStore(self.path)
        sample = self._store.sample(self.split, int(self.subset[index]))
        return Data(x=torch.from_numpy(sample["x"]), pos=torch.from_numpy(sample["pos"]),
                    edge_index=torch.from_numpy(sample["edge_index"].astype("int64")),
                    y=torch.tensor([sample["label"]]))
