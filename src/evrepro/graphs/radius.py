"""Capped radius graphs on the CPU: a cell-list search compiled with numba, parallel over nodes.

The neighbour rule, shared by the graph cache and the asynchronous engine: node i receives an edge from every
other node j with ``squared_distance(pos_j, pos_i) < r * r``, strictly, as torch_cluster's ``radius_graph`` (a
pair at exactly r is not joined; r·r is a float64 product, not ``r ** 2``, whose ``pow`` may round otherwise).
If more than ``max_neighbors`` qualify, i keeps the nearest ones, ties broken by the lower node index
(torch_cluster keeps the first ones its tree search returns instead). Distances are ``squared_distance``'s bit
for bit (float64, summed over dimensions in order), so every caller ranks neighbours identically. Edges point
from neighbour to node (``edge_index[0]`` = source j, ``edge_index[1]`` = target i), sorted by target, then by
(distance, source). The graph is not symmetric where a cap bites.

Search: nodes are sorted into cells at least r/2 wide (a counting sort), so a node's candidates lie in the
5×5×5 cells around its own, each row of five cells one contiguous run of the sorted nodes. Each node gathers
the candidates within r, ranks each by counting the candidates that rank before it (a comparison loop that
vectorises), and keeps the ``max_neighbors`` first; the rows are then packed into the edge list.
"""

import numba
import numpy as np

SUBDIVISIONS = 2  # cells of side r/2: a node's candidates lie within 2 cells of its own, 6.25 r² around it in 2-D
CELL_SLACK = 1e-6  # cells of side (r/2)·(1 + slack): rounding never puts a pair within r three cells apart
CELLS_PER_NODE, MIN_CELLS = 4, 4096  # a larger grid coarsens its longest axes (cells stay at least r/2 wide)
CHUNK = 256  # nodes per parallel task (each task allocates its candidate buffers once)


def squared_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distance between rows of ``a`` and ``b`` (broadcast), float64, in dimension order."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    total = np.zeros(np.broadcast_shapes(a.shape, b.shape)[:-1])
    for d in range(a.shape[-1]):
        total = total + (a[..., d] - b[..., d]) ** 2
    return total


@numba.njit(cache=True)
def _grid(pos, r, max_cells):
    """(lowest corner, cell side, cells per axis) of a grid of at most ``max_cells`` cells at least
    ``(r / SUBDIVISIONS)·(1 + CELL_SLACK)`` wide over (N, 3) positions; the longest axis is coarsened until it fits."""
    low, high = pos[0].copy(), pos[0].copy()
    for i in range(pos.shape[0]):
        for d in range(3):
            low[d], high[d] = min(low[d], pos[i, d]), max(high[d], pos[i, d])
    side = np.full(3, r / SUBDIVISIONS * (1 + CELL_SLACK))
    shape = np.floor((high - low) / side).astype(np.int64) + 1
    while shape[0] * shape[1] * shape[2] > max_cells:
        widest = np.argmax(shape)
        side[widest] *= 2
        shape[widest] = int(np.floor((high[widest] - low[widest]) / side[widest])) + 1
    return low, side, shape


@numba.njit(cache=True)
def _sort_into_cells(pos, r, max_cells):
    """Counting sort of the nodes by cell, axis 0 fastest: per slot the coordinates (3, N), the node and its
    cell (3, N); the first slot of each cell; the cells per axis."""
    low, side, shape = _grid(pos, r, max_cells)
    n = pos.shape[0]
    cell = np.empty((3, n), np.int64)
    key = np.empty(n, np.int64)
    start = np.zeros(shape[0] * shape[1] * shape[2] + 1, np.int64)
    for i in range(n):
        for d in range(3):
            cell[d, i] = min(int(np.floor((pos[i, d] - low[d]) / side[d])), shape[d] - 1)
        key[i] = (cell[2, i] * shape[1] + cell[1, i]) * shape[0] + cell[0, i]
        start[key[i] + 1] += 1
    for k in range(1, start.size):
        start[k] += start[k - 1]
    fill = start[:-1].copy()
    node = np.empty(n, np.int64)
    for i in range(n):
        node[fill[key[i]]] = i
        fill[key[i]] += 1
    return pos[node].T.copy(), node, cell[:, node].copy(), start, shape


@numba.njit(cache=True, inline="always")
def _row(shape, start, cell, s, dy, dz):
    """Slots (first, stop) of the cells within SUBDIVISIONS of slot ``s``'s cell along axis 0, in the row offset
    by (dy, dz); empty off the grid."""
    y, z = cell[1, s] + dy, cell[2, s] + dz
    if y < 0 or y >= shape[1] or z < 0 or z >= shape[2]:
        return 0, 0
    row = (z * shape[1] + y) * shape[0]
    return (start[row + max(cell[0, s] - SUBDIVISIONS, 0)],
            start[row + min(cell[0, s] + SUBDIVISIONS, shape[0] - 1) + 1])


@numba.njit(cache=True)
def _most_candidates(shape, start, cell):
    """The most nodes any node's surrounding cells hold, itself included: a bound on its candidates."""
    most = 0
    for s in range(cell.shape[1]):
        found = 0
        for dz in range(-SUBDIVISIONS, SUBDIVISIONS + 1):
            for dy in range(-SUBDIVISIONS, SUBDIVISIONS + 1):
                first, stop = _row(shape, start, cell, s, dy, dz)
                found += stop - first
        most = max(most, found)
    return most


@numba.njit(cache=True, parallel=True)
def _nearest(coords, node, cell, start, shape, r2, width, most):
    """Each node's neighbours within r, nearest first (ties: lower index), at most ``width``: (rows, counts)."""
    n = node.size
    x, y, z = coords[0], coords[1], coords[2]
    rows = np.empty((n, width), np.int64)
    counts = np.zeros(n, np.int64)
    for chunk in numba.prange((n + CHUNK - 1) // CHUNK):
        near_d2, near = np.empty(most), np.empty(most, np.int64)
        for s in range(chunk * CHUNK, min(n, (chunk + 1) * CHUNK)):
            found = 0
            for dz in range(-SUBDIVISIONS, SUBDIVISIONS + 1):
                for dy in range(-SUBDIVISIONS, SUBDIVISIONS + 1):
                    first, stop = _row(shape, start, cell, s, dy, dz)
                    for t in range(first, stop):
                        ex, ey, ez = x[t] - x[s], y[t] - y[s], z[t] - z[s]
                        d2 = (ex * ex + ey * ey) + ez * ez  # squared_distance's operations, in its order
                        near_d2[found], near[found] = d2, node[t]
                        found += (d2 < r2) & (t != s)  # written always, kept only when near: no branch
            i = node[s]
            for a in range(found):
                rank = 0
                for b in range(found):
                    rank += (near_d2[b] < near_d2[a]) | ((near_d2[b] == near_d2[a]) & (near[b] < near[a]))
                if rank < width:
                    rows[i, rank] = near[a]
            counts[i] = min(found, width)
    return rows, counts


@numba.njit(cache=True, parallel=True)
def _pack(rows, counts):
    """Edges (2, E): the first ``counts[i]`` entries of row i, as sources of target i, in node order."""
    offsets = np.zeros(counts.size + 1, np.int64)
    for i in range(counts.size):
        offsets[i + 1] = offsets[i] + counts[i]
    edges = np.empty((2, offsets[-1]), np.int64)
    for i in numba.prange(counts.size):
        for k in range(counts[i]):
            edges[0, offsets[i] + k] = rows[i, k]
            edges[1, offsets[i] + k] = i
    return edges


def radius_graph(pos: np.ndarray, r: float, max_neighbors: int, threads: int = 1) -> np.ndarray:
    """Edges (2, E) int64 of the capped radius graph on points ``pos`` (N, D ≤ 3), without self-loops.

    ``threads``: numba threads of the search, at most numba's ``NUMBA_NUM_THREADS``. The default is one, so
    that no caller uses more cores than it was given; the graph cache passes its job's threads.
    """
    pos = np.asarray(pos, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] > 3:
        raise ValueError(f"positions must be (N, D) with D <= 3, got shape {pos.shape}")
    if r <= 0 or max_neighbors < 1 or threads < 1:
        raise ValueError(f"need r > 0, max_neighbors >= 1 and threads >= 1, got {r}, {max_neighbors}, {threads}")
    if pos.shape[0] < 2:
        return np.zeros((2, 0), dtype=np.int64)
    if not np.isfinite(pos).all():
        raise ValueError("positions must be finite")
    # missing axes are zeros: a zero difference adds an exact 0.0 to squared_distance's sum
    pos = np.pad(pos, ((0, 0), (0, 3 - pos.shape[1])))
    coords, node, cell, start, shape = _sort_into_cells(pos, float(r), max(MIN_CELLS, CELLS_PER_NODE * len(pos)))
    most = _most_candidates(shape, start, cell)
    width = min(int(max_neighbors), most - 1)
    previous = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        return _pack(*_nearest(coords, node, cell, start, shape, float(r) * float(r), width, most))
    finally:
        numba.set_num_threads(previous)
