"""The event graph of the asynchronous engine: the capped radius graph, grown one event at a time.

After inserting events 0..k the graph equals ``radius_graph(pos[:k+1], r, max_neighbors)``: node i
holds the ``max_neighbors`` nearest other nodes strictly within r (d² < r·r), ranked by (``squared_distance``,
index).
A new node k gets its incoming edges from the nearest older nodes; it also enters the list of every
older node i within r whose list has room, or whose farthest neighbour w it beats. It beats w only
when strictly nearer, because a tie goes to the lower index and k is the highest; w is then evicted.
Candidates come from a spatial hash of cells slightly wider than r over (x, y, t'); ranking uses
``squared_distance`` only, as the graph cache does.
"""

import math
from dataclasses import dataclass
from itertools import product

import numpy as np

from evrepro.graphs.radius import radius_graph, squared_distance

CELL_SLACK = 1e-6  # hash cells of side r·(1 + slack): a pair within r never lies two cells apart
OFFSETS = tuple(product((-1, 0, 1), repeat=3))


@dataclass(frozen=True)
class Insertion:
    """What inserting node ``node`` changed: its in-neighbours, the older nodes it entered, the evictions."""

    node: int
    sources: np.ndarray  # older nodes j with a new edge j -> node
    entered: np.ndarray  # older nodes i with a new edge node -> i
    evicted: np.ndarray  # (2, M): edges w -> i removed by the insertion


class StreamGraph:
    """Capped radius graph over positions (x, y, t') inserted in time order.

    In-neighbours are kept in padded arrays (``neighbors``, -1 where empty, with their squared
    distances); out-neighbours (the nodes whose list holds j) in one set per node.
    """

    def __init__(self, radius: float, max_neighbors: int, capacity: int = 1024):
        if radius <= 0 or max_neighbors < 1:
            raise ValueError(f"need radius > 0 and max_neighbors >= 1, got {radius} and {max_neighbors}")
        self.radius, self.max_neighbors = float(radius), int(max_neighbors)
        self.r2 = self.radius * self.radius  # radius_graph's bound
        self.cell_side = self.radius * (1 + CELL_SLACK)
        self.size = 0
        self.pos = np.empty((capacity, 3), dtype=np.float32)
        self.neighbors = np.full((capacity, max_neighbors), -1, dtype=np.int64)
        self.neighbor_d2 = np.full((capacity, max_neighbors), np.inf)
        self.degree = np.zeros(capacity, dtype=np.int64)
        self.out: list[set[int]] = []
        self.cells: dict[tuple[int, int, int], list[int]] = {}

    @property
    def num_edges(self) -> int:
        return int(self.degree[: self.size].sum())

    def _grow(self, needed: int) -> None:
        capacity = self.pos.shape[0]
        if needed <= capacity:
            return
        capacity = max(needed, 2 * capacity)
        extra = capacity - self.pos.shape[0]
        self.pos = np.concatenate([self.pos, np.empty((extra, 3), dtype=np.float32)])
        self.neighbors = np.concatenate([self.neighbors, np.full((extra, self.max_neighbors), -1, dtype=np.int64)])
        self.neighbor_d2 = np.concatenate([self.neighbor_d2, np.full((extra, self.max_neighbors), np.inf)])
        self.degree = np.concatenate([self.degree, np.zeros(extra, dtype=np.int64)])

    def _cell(self, p: np.ndarray) -> tuple[int, int, int]:
        return tuple(math.floor(float(v) / self.cell_side) for v in p)

    def _candidates(self, p: np.ndarray) -> np.ndarray:
        cx, cy, ct = self._cell(p)
        found = [self.cells.get((cx + dx, cy + dy, ct + dt)) for dx, dy, dt in OFFSETS]
        found = [ids for ids in found if ids]
        return np.fromiter((i for ids in found for i in ids), dtype=np.int64) if found else np.zeros(0, np.int64)

    def insert(self, p) -> Insertion:
        """Add the next event at position ``p`` (x, y, t'), float32 as in the graph cache."""
        p = np.asarray(p, dtype=np.float32).reshape(3)
        if not np.all(np.isfinite(p)):
            raise ValueError(f"event {self.size}: position {p.tolist()} is not finite")
        node = self.size
        self._grow(node + 1)
        candidates = self._candidates(p)
        d2 = squared_distance(self.pos[candidates], p)
        near = d2 < self.r2  # strictly, as radius_graph
        candidates, d2 = candidates[near], d2[near]

        order = np.lexsort((candidates, d2))[: self.max_neighbors]
        sources = candidates[order]
        self.pos[node] = p
        self.neighbors[node, : sources.size] = sources
        self.neighbor_d2[node, : sources.size] = d2[order]
        self.degree[node] = sources.size

        room = self.degree[candidates] < self.max_neighbors
        open_rows, open_d2 = candidates[room], d2[room]
        self.neighbors[open_rows, self.degree[open_rows]] = node
        self.neighbor_d2[open_rows, self.degree[open_rows]] = open_d2
        self.degree[open_rows] += 1

        full_rows, full_d2 = candidates[~room], d2[~room]
        row_d2 = self.neighbor_d2[full_rows]
        worst_d2 = row_d2.max(axis=1, initial=-np.inf)
        worst_slot = np.where(row_d2 == worst_d2[:, None], self.neighbors[full_rows], -1).argmax(axis=1)
        beats = full_d2 < worst_d2  # strictly: on a tie the older (lower-index) neighbour stays
        full_rows, full_d2, worst_slot = full_rows[beats], full_d2[beats], worst_slot[beats]
        evicted = np.stack([self.neighbors[full_rows, worst_slot], full_rows])
        self.neighbors[full_rows, worst_slot] = node
        self.neighbor_d2[full_rows, worst_slot] = full_d2

        for j in sources.tolist():
            self.out[j].add(node)
        for w, i in evicted.T.tolist():
            self.out[w].discard(i)
        entered = np.concatenate([open_rows, full_rows])
        self.out.append(set(entered.tolist()))
        self.cells.setdefault(self._cell(p), []).append(node)
        self.size = node + 1
        return Insertion(node, sources, entered, evicted)

    def insert_all(self, pos: np.ndarray) -> None:
        """Insert a whole prefix at once, building the graph with ``radius_graph`` (the same edge set)."""
        if self.size:
            raise RuntimeError("insert_all builds a fresh graph; this one already holds nodes")
        pos = np.asarray(pos, dtype=np.float32).reshape(-1, 3)
        n = pos.shape[0]
        self._grow(n)
        edges = radius_graph(pos, self.radius, self.max_neighbors)  # sorted by target
        source, target = edges
        degree = np.bincount(target, minlength=n)
        slot = np.arange(source.size) - np.repeat(np.cumsum(degree) - degree, degree)
        self.pos[:n] = pos
        self.neighbors[target, slot] = source
        self.neighbor_d2[target, slot] = squared_distance(pos[source], pos[target])
        self.degree[:n] = degree
        self.out = [set() for _ in range(n)]
        for j, i in zip(source.tolist(), target.tolist()):
            self.out[j].add(i)
        for node in range(n):
            self.cells.setdefault(self._cell(pos[node]), []).append(node)
        self.size = n

    def in_edges(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sources, row in ``targets``) of every edge into ``targets``."""
        rows = self.neighbors[targets]
        valid = rows >= 0
        return rows[valid], np.nonzero(valid)[0]

    def out_neighbors(self, nodes) -> set[int]:
        """Nodes with an incoming edge from any of ``nodes``."""
        return set().union(*(self.out[j] for j in nodes))

    def edge_index(self) -> np.ndarray:
        """All edges (2, E), sorted by target, then by source."""
        rows = self.neighbors[: self.size]
        target, slot = np.nonzero(rows >= 0)
        source = rows[target, slot]
        order = np.lexsort((source, target))
        return np.stack([source[order], target[order]])
