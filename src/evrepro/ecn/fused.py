"""ECN's event convolutions (and its voxel means) as fused CPU kernels (numba), with no per-edge feature tensor.

For output event i, partition p and its edges e (input event j, dt_e), the convolution is

    y_i = Σ_p s_{i,p} W_p,   s_{i,p} = Σ_{e ∈ (i,p)} w_e ⊗ x_j,   w_e = exp(-λ_p dt_e)     (s: K·F_in values)

(``evrepro.ecn.conv``). Composed of TensorFlow ops, every edge's K weighted copies of x_j ([E, K·F_in]) are
written and read several times per training step. Here each run of edges with the same segment (i·P + p; edges
arrive sorted by segment, so a run is one (event, partition) pair) is summed into one row of s, ``BLOCK`` rows of
one partition go through W_p in one matrix product (BLAS), and the backward pass rebuilds those rows instead of
storing them: the memory traffic is the inputs and outputs, the edges' temporal weights w [E, K] (computed once,
by numpy's vectorised exponential, and kept for the backward pass) and one block. Edges in any order give the same
sums, in more runs. The first layer's input is binary polarity: its kernels only sum each edge's w per (output
event, partition, polarity) (``binary_sums_forward``), and TensorFlow multiplies the sums by the kernel. The voxel
branch's per-voxel means are a kernel here too (``voxel_mean_forward``).

The kernels run on one thread in a fixed order (and release the GIL, so data-parallel replicas run side by side):
the same inputs give the same bits. They compute in the features' precision like TensorFlow but sum in another
order, so results agree with the op composition to rounding (tests/test_ecn_conv.py). Every array they return
starts on a 64-byte boundary (see ``_aligned_zeros``).
"""

import numba
import numpy as np
import scipy.linalg.cython_blas  # noqa: F401  the BLAS numba's np.dot calls: loaded, so threadpoolctl sees it
from threadpoolctl import threadpool_limits

BLOCK = 64  # (event, partition) rows per matrix product


def single_threaded_blas() -> None:
    """Run BLAS on one thread in this process: the kernels' products are small ([64, K·F_in] by [K·F_in, F_out]),
    and OpenBLAS's own threads only contend with TensorFlow's (a step took 270 ms with them, 236 ms without)."""
    threadpool_limits(1, user_api="blas")


@numba.njit(cache=True)
def _plan(segments, partitions, block):
    """Runs of equal segments, grouped into blocks of up to ``block`` runs of one partition.

    Returns (run_bounds [R + 1]: run r is edges run_bounds[r]:run_bounds[r + 1]; runs [R]: run indices in block
    order; block_bounds [B + 1]: block b is runs[block_bounds[b]:block_bounds[b + 1]]).
    """
    run_bounds = np.empty(segments.size + 1, np.int64)
    count = 0
    for e in range(segments.size):
        if e == 0 or segments[e] != segments[e - 1]:
            run_bounds[count] = e
            count += 1
    run_bounds[count] = segments.size
    pending = np.empty((partitions, block), np.int64)
    fill = np.zeros(partitions, np.int64)
    runs = np.empty(count, np.int64)
    block_bounds = np.empty(count + partitions + 1, np.int64)
    block_bounds[0] = 0
    placed, blocks = 0, 0
    for r in range(count):
        p = segments[run_bounds[r]] % partitions
        pending[p, fill[p]] = r
        fill[p] += 1
        if fill[p] == block or r == count - 1:
            for q in range(partitions):
                if fill[q] > 0 and (q == p or r == count - 1):
                    runs[placed:placed + fill[q]] = pending[q, :fill[q]]
                    placed += fill[q]
                    blocks += 1
                    block_bounds[blocks] = placed
                    fill[q] = 0
    return run_bounds[:count + 1], runs, block_bounds[:blocks + 1]


@numba.njit(cache=True)
def _aligned_zeros(size, like):
    """A zeroed array of ``size`` elements of ``like``'s dtype whose data starts on a 64-byte boundary.

    TensorFlow wraps a returned array in place, and its CPU kernels take other code paths (and sum in another
    order) on data aligned otherwise: arrays at whatever address the allocator gave made the same training differ
    between processes in the last bits.
    """
    buffer = np.zeros(size + 64 // like.itemsize, like.dtype)
    skip = ((-buffer.ctypes.data) % 64) // like.itemsize
    return buffer[skip:skip + size]


@numba.njit(cache=True, nogil=True)
def _decay_exponents(decay, segments, dt, partitions):
    """-λ_{p,k} dt_e of every edge e (p its partition): [E, K]."""
    kernels = decay.shape[1]
    exponents = _aligned_zeros(dt.size * kernels, dt).reshape((dt.size, kernels))
    for e in range(dt.size):
        p = segments[e] % partitions
        for k in range(kernels):
            exponents[e, k] = -decay[p, k] * dt[e]
    return exponents


def temporal_weights(decay, segments, dt, partitions: int) -> np.ndarray:
    """exp(-λ_{p,k} dt_e) of every edge e: [E, K], by numpy's vectorised exponential (numba's calls libm's per
    value, 4× slower)."""
    exponents = _decay_exponents(decay, segments, dt, partitions)
    return np.exp(exponents, out=exponents)


@numba.njit(cache=True, fastmath=True)
def _block_rows(features, weights, sources, run_bounds, block_runs, rows):
    """Fill ``rows`` with the s of a block's runs: row r = Σ_(edges e of run r) weights[e] ⊗ x_(sources[e])."""
    in_channels, kernels = features.shape[1], weights.shape[1]
    for r in range(block_runs.size):
        row = rows[r]
        row[:] = 0.0
        for e in range(run_bounds[block_runs[r]], run_bounds[block_runs[r] + 1]):
            j = sources[e]
            for k in range(kernels):
                w, base = weights[e, k], k * in_channels
                for f in range(in_channels):
                    row[base + f] += w * features[j, f]


@numba.njit(cache=True, nogil=True)
def _event_conv(features, kernel, weights, segments, sources, num_outputs):
    """y [num_outputs, F_out] = Σ_p s_{i,p} W_p."""
    partitions, width, out_channels = kernel.shape
    run_bounds, runs, block_bounds = _plan(segments, partitions, BLOCK)
    out = _aligned_zeros(num_outputs * out_channels, features).reshape((num_outputs, out_channels))
    rows = np.empty((BLOCK, width), features.dtype)
    products = np.empty((BLOCK, out_channels), features.dtype)
    for b in range(block_bounds.size - 1):
        block_runs = runs[block_bounds[b]:block_bounds[b + 1]]
        m = block_runs.size
        _block_rows(features, weights, sources, run_bounds, block_runs, rows)
        np.dot(rows[:m], kernel[segments[run_bounds[block_runs[0]]] % partitions], products[:m])
        for r in range(m):
            i = segments[run_bounds[block_runs[r]]] // partitions
            for c in range(out_channels):
                out[i, c] += products[r, c]
    return out


def event_conv_forward(features, kernel, decay, segments, sources, dt, num_outputs: int):
    """(y [num_outputs, F_out] = Σ_p s_{i,p} W_p, the edges' temporal weights [E, K] for ``event_conv_backward``)
    for ``kernel`` [P, K·F_in, F_out] and ``decay`` [P, K]."""
    weights = temporal_weights(decay, segments, dt, kernel.shape[0])
    return _event_conv(features, kernel, weights, segments, sources, num_outputs), weights


@numba.njit(cache=True, fastmath=True, nogil=True)
def event_conv_backward(features, kernel, decay, segments, sources, dt, weights, upstream):
    """Gradients (features, kernel, decay, dt) of Σ y ⊙ ``upstream`` for ``event_conv_forward``'s inputs, given
    the temporal ``weights`` it returned."""
    partitions, width, out_channels = kernel.shape
    in_channels, kernels = features.shape[1], decay.shape[1]
    run_bounds, runs, block_bounds = _plan(segments, partitions, BLOCK)
    d_features = _aligned_zeros(features.size, features).reshape(features.shape)
    d_kernel = _aligned_zeros(kernel.size, features).reshape(kernel.shape)
    d_decay = _aligned_zeros(decay.size, features).reshape(decay.shape)
    d_dt = _aligned_zeros(dt.size, features)
    rows = np.empty((BLOCK, width), features.dtype)
    d_rows = np.empty((BLOCK, width), features.dtype)
    gathered = np.empty((BLOCK, out_channels), features.dtype)
    block_kernel = np.empty((width, out_channels), features.dtype)
    zero = np.zeros(1, features.dtype)[0]
    for b in range(block_bounds.size - 1):
        block_runs = runs[block_bounds[b]:block_bounds[b + 1]]
        m = block_runs.size
        p = segments[run_bounds[block_runs[0]]] % partitions
        _block_rows(features, weights, sources, run_bounds, block_runs, rows)
        for r in range(m):
            i = segments[run_bounds[block_runs[r]]] // partitions
            for c in range(out_channels):
                gathered[r, c] = upstream[i, c]
        np.dot(rows[:m].T, gathered[:m], block_kernel)
        for v in range(width):
            for c in range(out_channels):
                d_kernel[p, v, c] += block_kernel[v, c]
        np.dot(gathered[:m], kernel[p].T, d_rows[:m])  # d s [m, K·F]
        for r in range(m):
            for e in range(run_bounds[block_runs[r]], run_bounds[block_runs[r] + 1]):
                j = sources[e]
                for k in range(kernels):
                    w, base, dot = weights[e, k], k * in_channels, zero
                    for f in range(in_channels):
                        dot += features[j, f] * d_rows[r, base + f]
                        d_features[j, f] += w * d_rows[r, base + f]
                    d_decay[p, k] -= dot * w * dt[e]  # dw/dλ = -dt·w
                    d_dt[e] -= dot * w * decay[p, k]  # dw/ddt = -λ·w
    return d_features, d_kernel, d_decay, d_dt


@numba.njit(cache=True, nogil=True)
def _binary_sums(polarity, weights, segments, sources, partitions, num_outputs):
    """Each edge's temporal weights summed into its (output event, partition, polarity) columns."""
    kernels = weights.shape[1]
    sums = _aligned_zeros(num_outputs * partitions * 2 * kernels, weights).reshape(
        (num_outputs, partitions * 2 * kernels))
    for e in range(segments.size):
        i, p = segments[e] // partitions, segments[e] % partitions
        base = (2 * p + polarity[sources[e]]) * kernels
        for k in range(kernels):
            sums[i, base + k] += weights[e, k]
    return sums


def binary_sums_forward(polarity, decay, segments, sources, dt, num_outputs: int):
    """(Σ_(edges of i in p from events of polarity q) exp(-λ_p dt) per output event i, as [num_outputs, P·2·K]
    (column (p·2 + q)·K + k), the edges' temporal weights [E, K] for ``binary_sums_backward``)."""
    weights = temporal_weights(decay, segments, dt, decay.shape[0])
    return _binary_sums(polarity, weights, segments, sources, decay.shape[0], num_outputs), weights


@numba.njit(cache=True, nogil=True)
def binary_sums_backward(polarity, decay, segments, sources, dt, weights, upstream):
    """Gradients (decay, dt) of Σ sums ⊙ ``upstream`` for ``binary_sums_forward``'s inputs."""
    partitions, kernels = decay.shape
    d_decay = _aligned_zeros(decay.size, weights).reshape(decay.shape)
    d_dt = _aligned_zeros(dt.size, weights)
    for e in range(segments.size):
        i, p = segments[e] // partitions, segments[e] % partitions
        base = (2 * p + polarity[sources[e]]) * kernels
        for k in range(kernels):
            d_weight = upstream[i, base + k] * weights[e, k]
            d_decay[p, k] -= d_weight * dt[e]
            d_dt[e] -= d_weight * decay[p, k]
    return d_decay, d_dt


@numba.njit(cache=True, nogil=True)
def voxel_mean_forward(features, voxels, num_voxels):
    """(Mean of the features of each voxel's events [num_voxels, F] (0 where none), events per voxel
    [num_voxels]) for events in voxels ``voxels`` [N]."""
    channels = features.shape[1]
    means = _aligned_zeros(num_voxels * channels, features).reshape((num_voxels, channels))
    counts = _aligned_zeros(num_voxels, features)
    for i in range(voxels.size):
        v = voxels[i]
        counts[v] += 1
        for c in range(channels):
            means[v, c] += features[i, c]
    for v in range(num_voxels):
        if counts[v] > 1:
            for c in range(channels):
                means[v, c] /= counts[v]
    return means, counts


@numba.njit(cache=True, nogil=True)
def voxel_mean_backward(voxels, counts, upstream):
    """Gradient of the features for ``voxel_mean_forward``: each event gets its voxel's upstream over the count."""
    channels = upstream.shape[1]
    d_features = _aligned_zeros(voxels.size * channels, upstream).reshape((voxels.size, channels))
    for i in range(voxels.size):
        v = voxels[i]
        for c in range(channels):
            d_features[i, c] = upstream[v, c] / counts[v]
    return d_features
