"""Capped radius graphs on the CPU (PyG's ``radius_graph`` needs pyg-lib, which PyPI does not carry).

The neighbour rule, shared by the graph cache and the asynchronous engine: node i receives an edge
from every other node j with ``squared_distance(pos_j, pos_i) <= r**2``; if more than
``max_neighbors`` qualify, i keeps the nearest ones, ties broken by the lower node index. Distances
are computed by ``squared_distance`` alone (float64, summed over dimensions in order), never by the
search tree, so every caller ranks neighbours identically. Edges point from neighbour to node
(``edge_index[0]`` = source j, ``edge_index[1]`` = target i), sorted by target, then by (distance,
source). The graph is not symmetric where a cap bites.
"""

import numpy as np
from scipy.spatial import cKDTree

TREE_SLACK = 1e-6  # the tree only proposes candidates: search a little wider than r, then filter exactly


def squared_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distance between rows of ``a`` and ``b`` (broadcast), float64, in dimension order."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    total = np.zeros(np.broadcast_shapes(a.shape, b.shape)[:-1])
    for d in range(a.shape[-1]):
        total = total + (a[..., d] - b[..., d]) ** 2
    return total


def radius_graph(pos: np.ndarray, r: float, max_neighbors: int) -> np.ndarray:
    """Edges (2, E) int64 of the capped radius graph on points ``pos`` (N, D), without self-loops."""
    pos = np.asarray(pos, dtype=np.float64)
    n = pos.shape[0]
    if n < 2:
        return np.zeros((2, 0), dtype=np.int64)
    tree = cKDTree(pos)
    r2 = float(r) ** 2
    sources, targets = [], []
    rows = np.arange(n)
    k = min(max_neighbors + 2, n)  # self, the cap, and one more to see whether the cap-th has ties
    while rows.size:
        _, index = tree.query(pos[rows], k=k, distance_upper_bound=r * (1 + TREE_SLACK) + TREE_SLACK)
        index = index.reshape(rows.size, k)
        returned = index < n
        saturated = returned[:, -1] & (k < n)  # the tree may have more candidates than it returned
        safe = np.where(returned, index, 0)
        last_d2 = squared_distance(pos[safe[:, -1]], pos[rows])  # the farthest point the tree returned
        d2 = np.where(returned & (index != rows[:, None]), squared_distance(pos[safe], pos[rows][:, None]), np.inf)
        d2[d2 > r2] = np.inf
        order = np.lexsort((np.where(np.isfinite(d2), index, n), d2), axis=1)
        d2, index = np.take_along_axis(d2, order, axis=1), np.take_along_axis(index, order, axis=1)
        counts = np.isfinite(d2).sum(axis=1)
        cap_th = d2[:, min(max_neighbors, k) - 1]
        # conclusive: the tree returned every candidate, or every point it did not return is strictly
        # farther (beyond the tree's own rounding) than the cap-th neighbour, so none can tie with it
        conclusive = ~saturated | (last_d2 > cap_th * (1 + 4 * TREE_SLACK) + TREE_SLACK)
        limit = np.minimum(counts, max_neighbors)[conclusive]
        take = np.arange(k)[None, :] < limit[:, None]
        sources.append(index[conclusive][take])
        targets.append(np.repeat(rows[conclusive], limit))
        rows = rows[~conclusive]
        k = min(2 * k, n)
    edges = np.stack([np.concatenate(sources), np.concatenate(targets)]).astype(np.int64)
    return edges[:, np.argsort(edges[1], kind="stable")]
