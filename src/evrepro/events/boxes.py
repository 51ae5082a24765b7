"""Gen1 ``*_bbox.npy`` box labels: a NumPy ``.npy`` file holding a 1-D structured array, one row per box.

The bytes are the ``.npy`` format: the magic ``\\x93NUMPY``, a version, a header dict naming the dtype,
then the rows packed as that dtype says. Two real dtypes exist (``LEGACY_BBOX_DTYPE``: the released Gen1
files, field ``ts`` and ``confidence``; ``CURRENT_BBOX_DTYPE``: the Prophesee toolbox's, fields ``t`` and
``class_confidence``, padded to 40 bytes). Both hold a time in µs, the top-left corner ``x``, ``y`` and the
size ``w``, ``h`` in pixels, a class id (0 = car, 1 = pedestrian), a track id and a confidence.
In memory boxes are ``BOX_DTYPE`` arrays, whatever the file's variant.
"""

import io
from pathlib import Path

import numpy as np

from evrepro.events.array import EventFormatError

BOX_DTYPE = np.dtype([
    ("t", np.int64), ("x", np.float32), ("y", np.float32), ("w", np.float32), ("h", np.float32),
    ("class_id", np.uint32), ("track_id", np.uint32), ("confidence", np.float32),
])
LEGACY_BBOX_DTYPE = np.dtype([
    ("ts", "<u8"), ("x", "<f4"), ("y", "<f4"), ("w", "<f4"), ("h", "<f4"),
    ("class_id", "u1"), ("confidence", "<f4"), ("track_id", "<u4"),
])
CURRENT_BBOX_DTYPE = np.dtype({
    "names": ["t", "x", "y", "w", "h", "class_id", "track_id", "class_confidence"],
    "formats": ["<i8", "<f4", "<f4", "<f4", "<f4", "<u4", "<u4", "<f4"],
    "offsets": [0, 8, 12, 16, 20, 24, 28, 32],
    "itemsize": 40,
})
# file field name for each BOX_DTYPE field, per variant
FILE_NAMES = {
    "legacy": {"t": "ts", "confidence": "confidence"},
    "current": {"t": "t", "confidence": "class_confidence"},
}
VARIANT_DTYPES = {"legacy": LEGACY_BBOX_DTYPE, "current": CURRENT_BBOX_DTYPE}


def _copy_fields(source: np.ndarray, names: dict[str, str], target_dtype: np.dtype, where: str) -> np.ndarray:
    """Copy ``source[names[f]]`` into field ``f`` of a new ``target_dtype`` array, refusing values it cannot hold."""
    target = np.zeros(source.size, dtype=target_dtype)  # zeros: padding bytes written as 0
    for target_name, source_name in names.items():
        values, integer = source[source_name], target_dtype[target_name].kind in "iu"
        if values.dtype.kind not in ("iu" if integer else "iuf"):
            raise EventFormatError(
                f"{where}: field {source_name!r} holds {values.dtype}, not {'integers' if integer else 'numbers'}"
            )
        if integer:
            info = np.iinfo(target_dtype[target_name])
            bad = np.flatnonzero((values < info.min) | (values > info.max))
            if bad.size:
                i = int(bad[0])
                raise EventFormatError(
                    f"{where}: box {i} has {source_name}={values[i]}, outside [{info.min}, {info.max}] "
                    f"({bad.size} such boxes)"
                )
        target[target_name] = values
    return target


def read_boxes(path: str | Path) -> np.ndarray:
    """Read a Gen1 ``*_bbox.npy`` file of either variant into a ``BOX_DTYPE`` array (fields looked up by name)."""
    where = str(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as error:
        raise EventFormatError(f"{where}: not a readable .npy file ({error})") from error
    if not isinstance(loaded, np.ndarray) or loaded.ndim != 1:
        raise EventFormatError(f"{where}: holds {type(loaded).__name__} {getattr(loaded, 'shape', '')}, "
                               "not a 1-D array of boxes")
    found = loaded.dtype.names or ()
    names = {}
    for field in BOX_DTYPE.names:
        candidates = [variant[field] for variant in FILE_NAMES.values() if field in variant] or [field]
        present = [name for name in candidates if name in found]
        if not present:
            raise EventFormatError(
                f"{where}: no field {' or '.join(map(repr, candidates))} (fields found: {list(found)})"
            )
        names[field] = present[0]
    return _copy_fields(loaded, names, BOX_DTYPE, where)


def boxes_from_rows(rows, t: int = 0) -> np.ndarray:
    """``BOX_DTYPE`` boxes from rows of (x, y, w, h, class), all labelled at time ``t``."""
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
    boxes = np.zeros(len(rows), BOX_DTYPE)
    boxes["x"], boxes["y"], boxes["w"], boxes["h"], boxes["class_id"] = rows.T
    boxes["t"] = t
    return boxes


def encode_boxes(boxes: np.ndarray, variant: str = "legacy", where: str = "<boxes>") -> bytes:
    """The bytes of a ``.npy`` file holding ``BOX_DTYPE`` boxes in the ``"legacy"`` or ``"current"`` real dtype."""
    if variant not in VARIANT_DTYPES:
        raise ValueError(f"unknown bbox variant {variant!r}; use one of {sorted(VARIANT_DTYPES)}")
    names = {field: FILE_NAMES[variant].get(field, field) for field in BOX_DTYPE.names}
    out = _copy_fields(boxes, {file_name: field for field, file_name in names.items()}, VARIANT_DTYPES[variant], where)
    buffer = io.BytesIO()
    np.save(buffer, out)
    return buffer.getvalue()


def write_boxes(path: str | Path, boxes: np.ndarray, variant: str = "legacy") -> None:
    """Write ``BOX_DTYPE`` boxes as a ``.npy`` file with the ``"legacy"`` or ``"current"`` real dtype."""
    Path(path).write_bytes(encode_boxes(boxes, variant, where=str(path)))
