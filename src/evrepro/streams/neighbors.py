"""Causal event neighbourhoods between two streams through a grid link (ECN's convolution support).

For an output event o at (t_o, pixel u), its neighbours are the input events j with
- input pixel v_j in the link's receptive field of u, tagged with that cell's partition;
- ``t_o - duration <= t_j <= t_o`` (inclusive: simultaneous events, o itself in an in-place link, count);
- j among the ``buffer_size - 1`` most recent input events at v_j with t_j <= t_o (a per-pixel history cap).
Rows are CSR over output events; within a row, entries follow the link's cell order, then time order.
As sets of (partition, input event), rows equal numba-stream's ``compute_neighbors`` /
``compute_pointwise_neighbors`` once partitions are mapped onto ECN's kernel-cell numbering
(``evrepro.streams.grid.ECN_PARTITIONS``); within a row ECN lists cells in its own order.
"""

import numba
import numpy as np

from evrepro.streams.grid import Link
from evrepro.streams.sample import Neighbourhoods


@numba.njit(cache=True)
def _neighbors(in_times, in_pixels, out_times, out_pixels, link_partitions, link_indices, link_indptr,
               n_in_pixels, capacity, duration):
    ring = np.empty((n_in_pixels, capacity + 1), np.int64)  # per pixel: the last `capacity` input indices
    head = np.zeros(n_in_pixels, np.int64)
    tail = np.zeros(n_in_pixels, np.int64)
    size = max(out_times.size * 4, 16)
    partitions = np.empty(size, np.int64)
    indices = np.empty(size, np.int64)
    indptr = np.zeros(out_times.size + 1, np.int64)
    pushed, n = 0, 0
    slots = capacity + 1
    for o in range(out_times.size):
        t = out_times[o]
        while pushed < in_times.size and in_times[pushed] <= t:
            v = in_pixels[pushed]
            ring[v, tail[v]] = pushed
            tail[v] = (tail[v] + 1) % slots
            if tail[v] == head[v]:  # full: drop the oldest
                head[v] = (head[v] + 1) % slots
            pushed += 1
        u = out_pixels[o]
        for k in range(link_indptr[u], link_indptr[u + 1]):
            v = link_indices[k]
            while head[v] != tail[v] and in_times[ring[v, head[v]]] < t - duration:
                head[v] = (head[v] + 1) % slots  # expired for this and every later output
            h = head[v]
            while h != tail[v]:
                if n == size:
                    size *= 2
                    partitions = np.concatenate((partitions, np.empty(size - partitions.size, np.int64)))
                    indices = np.concatenate((indices, np.empty(size - indices.size, np.int64)))
                partitions[n], indices[n] = link_partitions[k], ring[v, h]
                n += 1
                h = (h + 1) % slots
        indptr[o + 1] = n
    return partitions[:n], indices[:n], indptr


def neighbors(in_times, in_pixels, out_times, out_pixels, link: Link, buffer_size: int = 32,
              duration: float | None = None) -> Neighbourhoods:
    """Every output event's causal neighbourhood (``Neighbourhoods``, CSR); both streams time-sorted."""
    if buffer_size < 2:
        raise ValueError(f"buffer_size must be >= 2 (it keeps buffer_size - 1 events), got {buffer_size}")
    out_times = np.asarray(out_times, np.int64)
    if out_times.size > 1 and np.any(np.diff(out_times) < 0):
        raise ValueError("output events must be sorted by time")
    in_times = np.asarray(in_times, np.int64)
    if in_times.size > 1 and np.any(np.diff(in_times) < 0):
        raise ValueError("input events must be sorted by time")
    n_in_pixels = link.in_shape[0] * link.in_shape[1]
    return Neighbourhoods(*_neighbors(in_times, np.asarray(in_pixels, np.int64), out_times,
                                      np.asarray(out_pixels, np.int64), link.partitions, link.indices, link.indptr,
                                      n_in_pixels, buffer_size - 1, np.inf if duration is None else float(duration)))
