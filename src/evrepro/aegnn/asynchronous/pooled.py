"""The voxel-pooled graph of the asynchronous engine, kept exact as events arrive.

Coarse nodes are the occupied voxels of the fixed (x, y) grid of ``voxel_max_pool``, numbered in
order of first occupation, so an id never changes. Per coarse node: its members (event nodes, in
index order), the float32 sum of their positions, accumulated member by member in index order as
the dense path's ``index_add`` does on the CPU, and the mean. Per coarse edge (u -> v, u != v): how
many event edges map onto it, so that an eviction removes it exactly when its last event edge goes.
"""

import numpy as np
import torch

from evrepro.aegnn.graph_res import voxel_clusters


class PooledGraph:
    """Coarse nodes, their mean positions (``dim`` columns) and the deduplicated inter-voxel edges."""

    def __init__(self, dim: int, voxel, sensor_size, capacity: int = 256):
        self.dim, self.voxel, self.sensor_size = dim, tuple(voxel), tuple(sensor_size)
        self.size = 0
        self.coarse_of_node = np.zeros(0, dtype=np.int64)
        self.coarse_of_voxel: dict[int, int] = {}
        self.voxel_id: list[int] = []
        self.members: list[list[int]] = []
        self.pos_sum = np.zeros((capacity, dim), dtype=np.float32)
        self.pos = np.zeros((capacity, dim), dtype=np.float32)
        self.edge_count: dict[tuple[int, int], int] = {}
        self.inc: list[set[int]] = []
        self.out: list[set[int]] = []

    @property
    def num_edges(self) -> int:
        return len(self.edge_count)

    def voxels(self, pos: np.ndarray) -> np.ndarray:
        """Voxel ids of event positions, computed by ``voxel_clusters`` itself."""
        pos = torch.from_numpy(np.ascontiguousarray(pos[:, : self.dim], dtype=np.float32))
        return voxel_clusters(pos, torch.zeros(pos.shape[0], dtype=torch.long), self.voxel, self.sensor_size).numpy()

    def _new_coarse(self, voxel: int) -> int:
        c = self.size
        if c == self.pos.shape[0]:
            self.pos_sum = np.concatenate([self.pos_sum, np.zeros_like(self.pos_sum)])
            self.pos = np.concatenate([self.pos, np.zeros_like(self.pos)])
        self.coarse_of_voxel[voxel] = c
        self.voxel_id.append(voxel)
        self.members.append([])
        self.inc.append(set())
        self.out.append(set())
        self.size = c + 1
        return c

    def add_nodes(self, pos: np.ndarray) -> list[int]:
        """Assign the next event nodes (positions (n, 3), in index order) to coarse nodes.

        Returns the coarse nodes whose mean position changed (new ones included), in increasing id.
        """
        first = self.coarse_of_node.size
        coarse = np.empty(pos.shape[0], dtype=np.int64)
        created = set()
        for offset, (voxel, p) in enumerate(zip(self.voxels(pos).tolist(), pos[:, : self.dim])):
            c = self.coarse_of_voxel.get(voxel)
            if c is None:
                c = self._new_coarse(voxel)
                created.add(c)
            self.members[c].append(first + offset)
            self.pos_sum[c] += p  # float32, in member order: the sum index_add computes
            coarse[offset] = c
        self.coarse_of_node = np.concatenate([self.coarse_of_node, coarse])
        moved = []
        for c in np.unique(coarse).tolist():
            mean = self.pos_sum[c] / np.float32(len(self.members[c]))
            if c in created or np.any(mean != self.pos[c]):
                self.pos[c] = mean
                moved.append(c)
        return moved

    def update_edges(self, added: np.ndarray, removed: np.ndarray) -> set[int]:
        """Apply event-edge changes ((2, M) source, target each); returns coarse nodes whose in-edges changed."""
        touched = set()
        for edges, step in ((added, 1), (removed, -1)):
            for u, v in self.coarse_of_node[edges].T.tolist():
                if u == v:
                    continue
                count = self.edge_count.get((u, v), 0) + step
                if count == 0:
                    del self.edge_count[(u, v)]
                    self.inc[v].discard(u)
                    self.out[u].discard(v)
                    touched.add(v)
                else:
                    self.edge_count[(u, v)] = count
                    if count == 1:
                        self.inc[v].add(u)
                        self.out[u].add(v)
                        touched.add(v)
        return touched

    def in_edges(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sources, row in ``targets``) of every coarse edge into ``targets``."""
        sources = [np.fromiter(self.inc[c], dtype=np.int64, count=len(self.inc[c])) for c in targets.tolist()]
        rows = np.repeat(np.arange(len(sources)), [s.size for s in sources])
        return (np.concatenate(sources) if sources else np.zeros(0, np.int64)), rows

    def out_neighbors(self, nodes) -> set[int]:
        return set().union(*(self.out[c] for c in nodes))

    def dense_order(self) -> np.ndarray:
        """Coarse ids sorted by voxel id: the order of ``voxel_max_pool``'s output."""
        return np.argsort(np.asarray(self.voxel_id, dtype=np.int64), kind="stable")

    def edge_index(self) -> np.ndarray:
        """Coarse edges (2, E) in engine ids, sorted by target, then by source."""
        if not self.edge_count:
            return np.zeros((2, 0), dtype=np.int64)
        edges = np.array(sorted((v, u) for u, v in self.edge_count), dtype=np.int64).T
        return edges[::-1].copy()
