"""Links between pixel grids, as CSR: for each output pixel, the input pixels it sees and a partition id.

Pixels are flattened row-major, ``pixel = y * width + x`` on a grid of shape (height, width). The
partition is the index of the kernel offset in the kernel window, row-major over (dy, dx). Offsets that
fall outside the grid are simply absent (padding never produces entries).

**ECN's flattening.** ECN (events-tfds order, grid (W, H)) flattens ``x * H + y`` and numbers kernel
offsets row-major over (dx, dy). Its streams and neighbourhoods map onto evrepro's one to one:
- pixels: ``ecn = x * H + y`` where ``evrepro = y * W + x`` (``to_ecn_pixels`` / ``from_ecn_pixels``);
- partitions of the 3×3 strided link: evrepro's ``ky * 3 + kx`` is ECN's ``kx * 3 + ky``; of the cross:
  evrepro's offset (dy, dx) = ``CROSS_OFFSETS[k]`` is ECN's partition of the same offset written (dx, dy)
  in its mask order, which is the same list; the pointwise link has one partition
  (``ECN_PARTITIONS[kind][evrepro partition] = ECN partition``).
A partition is only the label of a kernel cell's weights, so relabelling it gives the same convolutions.
The one place where the flattening changes a *result* is the order of LIF outputs that fire at the same
time: ECN emits them in its ``x * H + y`` order, so ``transpose(link, ecn_order=True)`` lists each input
pixel's output pixels in that order (see ``evrepro.streams.lif``). Everything else (time windows, buffers)
does not depend on pixel numbering.
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


def to_ecn_pixels(pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """evrepro's flat pixels (``y * W + x``) on a (height, width) grid as ECN's (``x * H + y``)."""
    height, width = shape
    y, x = np.divmod(np.asarray(pixels), width)
    return x * height + y


def from_ecn_pixels(pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """ECN's flat pixels (``x * H + y``) on a (height, width) grid as evrepro's (``y * W + x``)."""
    height, width = shape
    x, y = np.divmod(np.asarray(pixels), height)
    return y * width + x


# evrepro partition -> ECN partition of the same kernel cell (see the module docstring)
ECN_PARTITIONS = {
    "strided": np.array([kx * 3 + ky for ky in range(3) for kx in range(3)]),
    "cross": np.array([CROSS_OFFSETS.index((dx, dy)) for dy, dx in CROSS_OFFSETS]),
    "pointwise": np.array([0]),
}


def transpose(link: Link, ecn_order: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """CSR over *input* pixels: (output pixels, indptr), each row in increasing output-pixel order, or with
    ``ecn_order`` in increasing order of ECN's flattening ``x * H + y`` of the output pixels."""
    rows = np.repeat(np.arange(link.indptr.size - 1), np.diff(link.indptr))
    key = to_ecn_pixels(rows, link.out_shape) if ecn_order else rows
    order = np.lexsort((key, link.indices))
    n_in = link.in_shape[0] * link.in_shape[1]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(link.indices, minlength=n_in))])
    return rows[order].astype(np.int64), indptr.astype(np.int64)
