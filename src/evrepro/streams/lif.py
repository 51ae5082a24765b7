"""Spatial leaky integrate-and-fire subsampling of an event stream (ECN's down-sampling of streams).

Each output pixel o holds a potential V_o, stored in float32 as ECN stores it, and the time t_o of its last
update. An input event at pixel c and time t feeds every output pixel R(c) whose window contains c (through
the link's transpose) with weight w = 1/|R(c)|: ``v = V_o * exp(-(t - t_o)/tau) + w`` is computed in float64
from the stored float32 V_o (numba-stream's arithmetic: float32 × float64 promotes to float64); if
``v > threshold``, o emits an event at t (the triggering input's timestamp) and v = ``reset_potential``;
then V_o = float32(v) and t_o = t. Outputs are time-sorted by construction; ties are possible.

Rounding matters: with thresholds such as 1.0 or 0.75, potentials kept in float64 land just above the
threshold (two halves summing to 1.0000000000000022) where ECN's float32 ones do not, and later levels
inherit the difference.

**Order of simultaneous outputs.** The outputs of one input are visited, and emitted, in increasing order of
ECN's flattening ``x * H + y`` of the output pixel (``transpose(link, ecn_order=True)``), not of evrepro's
``y * W + x``: when one input makes two output pixels fire, ECN's order puts them in its stream in that
order, and the next level's LIF and every neighbourhood index depend on it. The outputs of one input are
distinct pixels, so the visiting order changes nothing else. Pixels stay in evrepro's flattening
(``evrepro.streams.grid`` documents the mapping); the streams equal ECN's event for event
(``tests/test_ecn_goldens.py`` against numba-stream's own outputs).
"""

import numba
import numpy as np

from evrepro.streams.grid import Link, transpose
from evrepro.streams.sample import Stream


@numba.njit(cache=True)
def _spatial_lif(times, pixels, targets, target_indptr, n_out, tau, threshold, reset):
    potential = np.zeros(n_out, np.float32)
    last = np.zeros(n_out, np.int64)
    out_times = np.empty(times.size, np.int64)
    out_pixels = np.empty(times.size, np.int64)
    n = 0
    for i in range(times.size):
        t, c = times[i], pixels[i]
        start, stop = target_indptr[c], target_indptr[c + 1]
        if stop == start:
            continue
        weight = 1.0 / (stop - start)
        for k in range(start, stop):
            o = targets[k]
            v = potential[o] * np.exp((last[o] - t) / tau) + weight  # float32 * float64 -> float64
            if v > threshold:
                if n == out_times.size:
                    out_times = np.concatenate((out_times, np.empty(out_times.size, np.int64)))
                    out_pixels = np.concatenate((out_pixels, np.empty(out_pixels.size, np.int64)))
                out_times[n], out_pixels[n] = t, o
                n += 1
                v = reset
            potential[o] = v  # rounded to float32
            last[o] = t
    return out_times[:n], out_pixels[:n]


def spatial_lif(times: np.ndarray, pixels: np.ndarray, link: Link, tau: float, threshold: float,
                reset_potential: float) -> Stream:
    """Subsample a time-sorted stream (times in µs, flat input pixels) through ``link``: the output stream."""
    targets, indptr = transpose(link, ecn_order=True)
    n_out = link.out_shape[0] * link.out_shape[1]
    return Stream(*_spatial_lif(np.asarray(times, np.int64), np.asarray(pixels, np.int64), targets, indptr, n_out,
                                float(tau), float(threshold), float(reset_potential)))
