"""Spatial leaky integrate-and-fire subsampling of an event stream (ECN's down-sampling of streams).

Each output pixel o holds a potential V_o and the time of its last update. An input event at pixel c
and time t feeds every output pixel R(c) whose window contains c (through the link's transpose) with
weight 1/|R(c)|, in increasing output-pixel order: V_o decays by exp(-(t - t_o)/tau), gains the weight,
and if V_o > threshold, o emits an event at t (the triggering input's timestamp) and V_o is set to
``reset_potential``; then t_o = t. Outputs are time-sorted by construction; ties are possible.
"""

import numba
import numpy as np

from evrepro.streams.grid import Link, transpose
from evrepro.streams.sample import Stream


@numba.njit(cache=True)
def _spatial_lif(times, pixels, targets, target_indptr, n_out, tau, threshold, reset):
    potential = np.zeros(n_out, np.float64)
    last = np.zeros(n_out, np.int64)
    out_times = np.empty(times.size, np.int64)
    out_pixels = np.empty(times.size, np.int64)
    n = 0
    for i in range(times.size):
        t, c = times[i], pixels[i]
        start, stop = target_indptr[c], target_indptr[c + 1]
        weight = 1.0 / (stop - start) if stop > start else 0.0
        for k in range(start, stop):
            o = targets[k]
            v = potential[o] * np.exp(-(t - last[o]) / tau) + weight
            if v > threshold:
                if n == out_times.size:
                    out_times = np.concatenate((out_times, np.empty(out_times.size, np.int64)))
                    out_pixels = np.concatenate((out_pixels, np.empty(out_pixels.size, np.int64)))
                out_times[n], out_pixels[n] = t, o
                n += 1
                v = reset
            potential[o], last[o] = v, t
    return out_times[:n], out_pixels[:n]


def spatial_lif(times: np.ndarray, pixels: np.ndarray, link: Link, tau: float, threshold: float,
                reset_potential: float) -> Stream:
    """Subsample a time-sorted stream (times in µs, flat input pixels) through ``link``: the output stream."""
    targets, indptr = transpose(link)
    n_out = link.out_shape[0] * link.out_shape[1]
    return Stream(*_spatial_lif(np.asarray(times, np.int64), np.asarray(pixels, np.int64), targets, indptr, n_out,
                                float(tau), float(threshold), float(reset_potential)))
