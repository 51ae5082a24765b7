"""Links between pixel grids, as CSR: for each output pixel, the input pixels it sees and a partition id.

Pixels are flattened row-major, ``pixel = y * width + x`` on a grid of shape (height, width). The
partition is the index of the kernel offset in the kernel window. Offsets that fall outside the
grid are simply absent (padding never produces entries).
"""

from typing import NamedTuple

import numpy as np

from evrepro.streams.params import strided_shape

# ECN's in-place kernel: the 9 cells of a 5×5 cross (centre row and column), in row-major mask order.
CROSS_OFFSETS = ((-2, 0), (-1, 0), (0, -2), (0, -1), (0, 0), (0, 1), (0, 2), (1, 0), (2, 0))


class Link(NamedTuple):
    """CSR over output pixels: ``indices[indptr[o]:indptr[o+1]]`` are input pixels, with their partitions."""

    partitions: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    in_shape: tuple[int, int]
    out_shape: tuple[int, int]


def _link(in_shape, out_shape, origin_of, offsets) -> Link:
    """Build a link: output pixel (oy, ox) sees input (origin_of(oy, ox) + offset) for each offset in order."""
    in_h, in_w = in_shape
    out_h, out_w = out_shape
    oy, ox = np.divmod(np.arange(out_h * out_w), out_w)
    base_y, base_x = origin_of(oy, ox)
    offsets = np.asarray(offsets)
    iy = base_y[:, None] + offsets[None, :, 0]
    ix = base_x[:, None] + offsets[None, :, 1]
    valid = (iy >= 0) & (iy < in_h) & (ix >= 0) & (ix < in_w)
    partitions = np.broadcast_to(np.arange(len(offsets)), valid.shape)[valid]
    indices = (iy * in_w + ix)[valid]
    indptr = np.concatenate([[0], np.cumsum(valid.sum(axis=1))])
    return Link(partitions.astype(np.int64), indices.astype(np.int64), indptr.astype(np.int64),
                tuple(in_shape), tuple(out_shape))


def strided_link(in_shape: tuple[int, int], kernel: int = 3, stride: int = 2, padding: int = 1) -> Link:
    """A strided, padded convolution's link (ECN's down-sampling: 3×3, stride 2, padding 1)."""
    out_shape = strided_shape(in_shape, kernel, stride, padding)
    offsets = [(ky, kx) for ky in range(kernel) for kx in range(kernel)]
    return _link(in_shape, out_shape, lambda oy, ox: (oy * stride - padding, ox * stride - padding), offsets)


def cross_link(shape: tuple[int, int]) -> Link:
    """ECN's in-place link on one grid: the 9-cell cross around each pixel."""
    return _link(shape, shape, lambda oy, ox: (oy, ox), CROSS_OFFSETS)


def pointwise_link(shape: tuple[int, int]) -> Link:
    """Each pixel sees only itself (partition 0)."""
    return _link(shape, shape, lambda oy, ox: (oy, ox), [(0, 0)])


def transpose(link: Link) -> tuple[np.ndarray, np.ndarray]:
    """CSR over *input* pixels: (output pixels, indptr), each row in increasing output-pixel order."""
    rows = np.repeat(np.arange(link.indptr.size - 1), np.diff(link.indptr))
    order = np.lexsort((rows, link.indices))
    n_in = link.in_shape[0] * link.in_shape[1]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(link.indices, minlength=n_in))])
    return rows[order].astype(np.int64), indptr.astype(np.int64)
