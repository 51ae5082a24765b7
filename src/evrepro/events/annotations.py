"""N-Caltech101 annotation ``.bin`` files (``Caltech101_annotations/<class>/annotation_NNNN.bin``).

Little-endian int16 values, no padding: two matrices, each written MATLAB-style as a ``(rows, cols)``
header followed by ``rows * cols`` values in column-major order. Both have ``rows == 2``, so the values
are (x, y) pairs: first the bounding box as its four corners (cols == 4, so the box corners are
values 2..9 of the file), then the object contour as ``cols`` points. Nothing follows the contour.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evrepro.events.array import EventFormatError

VALUE_DTYPE = np.dtype("<i2")
BOX_CORNERS = 4


@dataclass(frozen=True, eq=False)
class Annotation:
    """One sample's annotation: ``box`` (4, 2) and ``contour`` (N, 2) int16 arrays of (x, y) points."""

    box: np.ndarray
    contour: np.ndarray

    @property
    def xywh(self) -> tuple[int, int, int, int]:
        """The box as (x0, y0, width, height), from the smallest and largest corner coordinates."""
        (x0, y0), (x1, y1) = self.box.min(axis=0), self.box.max(axis=0)
        return int(x0), int(y0), int(x1) - int(x0), int(y1) - int(y0)


def _matrix(values: np.ndarray, index: int, what: str, where: str, cols: int | None = None) -> tuple[np.ndarray, int]:
    """The 2×cols matrix whose header is ``values[index]`` as (points, 2), and the index after it."""
    if values.size < index + 2:
        raise EventFormatError(
            f"{where}: ends at byte {values.size * VALUE_DTYPE.itemsize} inside the {what} header at byte "
            f"{index * VALUE_DTYPE.itemsize}: the file is truncated"
        )
    rows, found_cols = int(values[index]), int(values[index + 1])
    if rows != 2:
        raise EventFormatError(f"{where}: {what} header at byte {index * VALUE_DTYPE.itemsize} has rows={rows}, "
                               "expected 2 (x, y)")
    if found_cols < 0 or (cols is not None and found_cols != cols):
        expected = cols if cols is not None else "a count >= 0"
        raise EventFormatError(f"{where}: {what} header at byte {(index + 1) * VALUE_DTYPE.itemsize} has "
                               f"cols={found_cols}, expected {expected}")
    start, end = index + 2, index + 2 + 2 * found_cols
    if values.size < end:
        raise EventFormatError(
            f"{where}: {what} at byte {start * VALUE_DTYPE.itemsize} declares {found_cols} points "
            f"({2 * found_cols * VALUE_DTYPE.itemsize} bytes) but the file ends at byte "
            f"{values.size * VALUE_DTYPE.itemsize}: the file is truncated"
        )
    return values[start:end].reshape(found_cols, 2), end


def read_annotation(path: str | Path) -> Annotation:
    """Read an N-Caltech101 annotation file."""
    where = str(path)
    raw = Path(path).read_bytes()
    if len(raw) % VALUE_DTYPE.itemsize:
        raise EventFormatError(f"{where}: {len(raw)} bytes is not a whole number of int16 values "
                               f"(byte {len(raw) - 1} is left over)")
    values = np.frombuffer(raw, dtype=VALUE_DTYPE)
    box, index = _matrix(values, 0, "box", where, cols=BOX_CORNERS)
    contour, index = _matrix(values, index, "contour", where)
    if index != values.size:
        raise EventFormatError(f"{where}: {(values.size - index) * VALUE_DTYPE.itemsize} bytes follow the contour, "
                               f"from byte {index * VALUE_DTYPE.itemsize} (value {values[index]})")
    return Annotation(box.astype(np.int16), contour.astype(np.int16))


def write_annotation(path: str | Path, box_corners, contour) -> None:
    """Write a (4, 2) array of box corners and an (N, 2) contour, both (x, y), as an annotation file."""
    box, contour, info = np.asarray(box_corners), np.asarray(contour), np.iinfo(VALUE_DTYPE)
    if box.shape != (BOX_CORNERS, 2):
        raise EventFormatError(f"{path}: box has shape {box.shape}, expected ({BOX_CORNERS}, 2)")
    if contour.ndim != 2 or contour.shape[1] != 2 or len(contour) > info.max:
        raise EventFormatError(f"{path}: contour has shape {contour.shape}, expected (N, 2) with N <= {info.max}")
    parts = []
    for what, points in (("box", box), ("contour", contour)):
        bad = np.flatnonzero((points < info.min) | (points > info.max) | (points != np.round(points)))
        if bad.size:
            raise EventFormatError(f"{path}: {what} value {points.reshape(-1)[bad[0]]} is not an int16")
        parts += [np.array([2, len(points)]), points.reshape(-1)]
    Path(path).write_bytes(np.concatenate(parts).astype(VALUE_DTYPE).tobytes())
