"""ASL-DVS MATLAB v5 ``.mat`` files: one recording per file, four column vectors.

The bytes are a MATLAB level-5 MAT-file (a 128-byte text header starting ``MATLAB 5.0 MAT-file``, then
tagged data elements) holding the numeric variables ``ts`` (µs), ``x``, ``y`` and ``pol`` (0 = OFF,
1 = ON), each an N×1 column. Files may store them as doubles or as integers; every value must be a
non-negative whole number. The stored y axis is upside down (DAVIS240, 240×180): this module returns
the file's own coordinates and leaves orientation fixes to the dataset code. scipy (the ``data``
extra) is imported only when a file is read or written.
"""

import io
from pathlib import Path

import numpy as np

from evrepro.events.array import EventFormatError, check_field_range, make_events

# variable name -> (event field, largest value accepted); 2^53 µs (285 years) is the largest whole
# number a double holds exactly
VARIABLES = {"ts": ("t", 2**53), "x": ("x", 2**16 - 1), "y": ("y", 2**16 - 1), "pol": ("p", 1)}


def _whole_numbers(values: np.ndarray, name: str, high: int, where: str) -> np.ndarray:
    """``values`` as a flat int64 array, refusing non-numeric, fractional, negative and too large values."""
    if values.dtype.kind not in "biuf" or sum(length > 1 for length in values.shape) > 1:
        raise EventFormatError(
            f"{where}: variable {name!r} is a {values.dtype} array of shape {values.shape}, not a numeric column vector"
        )
    flat = values.reshape(-1)
    checks = [("not a whole number", ~np.isfinite(flat) | (flat != np.floor(flat)))] if flat.dtype.kind == "f" else []
    checks += [("negative", flat < 0), (f"above {high}", flat > high)]
    for what, bad in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise EventFormatError(
                f"{where}: variable {name!r} element {i} is {flat[i]}, {what} ({int(bad.sum())} such elements)"
            )
    return flat.astype(np.int64)


def read_asl_mat(path: str | Path) -> np.ndarray:
    """Read an ASL-DVS ``.mat`` file into an event array, in the file's own (unflipped) coordinates."""
    from scipy.io import loadmat

    where = str(path)
    raw = Path(path).read_bytes()
    try:
        contents = loadmat(io.BytesIO(raw), variable_names=list(VARIABLES))
    except Exception as error:  # scipy raises ValueError, TypeError, IndexError, OSError, ... for damaged bytes
        raise EventFormatError(f"{where}: not a readable MATLAB v5 file ({type(error).__name__}: {error})") from error
    missing = [name for name in VARIABLES if name not in contents]
    if missing:
        found = sorted(name for name in contents if not name.startswith("__"))
        raise EventFormatError(f"{where}: variable {missing[0]!r} is missing (variables found: {found})")
    columns = {name: _whole_numbers(contents[name], name, high, where) for name, (_, high) in VARIABLES.items()}
    lengths = {name: column.size for name, column in columns.items()}
    if len(set(lengths.values())) > 1:
        raise EventFormatError(f"{where}: columns differ in length: {lengths}")
    return make_events(columns["ts"], columns["x"], columns["y"], columns["pol"])


def write_asl_mat(path: str | Path, events: np.ndarray, dtype: str = "float64") -> None:
    """Write events as an ASL-DVS MATLAB v5 file: N×1 columns ``ts``, ``x``, ``y``, ``pol`` of ``dtype``.

    The default, double, is MATLAB's default numeric class; pass an integer dtype (e.g. ``"int32"``) for
    files that store integers. Values that ``dtype`` cannot hold exactly are refused.
    """
    from scipy.io import savemat

    columns = {}
    for name, (field, high) in VARIABLES.items():
        check_field_range(events, field, 0, high, str(path))
        column = events[field].astype(dtype)
        lost = np.flatnonzero(column.astype(np.int64) != events[field])
        if lost.size:
            i = int(lost[0])
            raise EventFormatError(f"{path}: event {i} has {field}={events[field][i]}, which {dtype} cannot hold")
        columns[name] = column.reshape(-1, 1)
    with open(path, "wb") as handle:  # savemat(path) would append ".mat" to names without it
        savemat(handle, columns, format="5")
