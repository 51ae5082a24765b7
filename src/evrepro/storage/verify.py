"""What an HDF5 store evrepro wrote must be to be opened, and setting a damaged one aside.

``store_problems`` lists what is wrong with a store, empty when nothing is: the file opens as HDF5 (a copy cut short
fails here: HDF5 compares its end with the size it recorded), its root attributes (``h5meta.root_attributes``) are
there, its ``params_hash`` is the hash of its ``params`` and, for a cache named by that hash (``{prep}.h5``), its name;
every ragged group (``ragged.RaggedWriter``: an offsets dataset naming its columns) has offsets that start at 0, never
decrease and end at each column's length (stores written before the offsets named their columns are checked up to
there). ``deep``
also reads every dataset through (a damaged compressed chunk shows only then): ``python -m evrepro check`` does.

``set_aside`` renames a damaged file beside itself (``<name>.damaged-<time>``), never deleting it, so that the rule
that wrote it builds it again on the next run.
"""

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

from evrepro.storage.fileio import params_hash

ROOT_ATTRIBUTES = ("format", "params", "params_hash", "inputs")
RAGGED_COLUMNS = "columns"  # attribute of an offsets dataset: {column name: growing axis}
CACHE_NAME = re.compile(r"[0-9a-f]{10}")  # {prep}: the params hash (evrepro.caches)


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def store_problems(path: str | Path, deep: bool = False) -> list[str]:
    """What is wrong with the store at ``path`` (see the module docstring); empty when nothing is."""
    path = Path(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        if not path.exists():
            raise
        return [f"does not open as HDF5 ({_reason(error)})"]
    with handle:
        try:
            return _attribute_problems(path, handle) + _group_problems(handle, deep)
        except (OSError, KeyError, ValueError, RuntimeError) as error:  # HDF5 reports damage inside as these
            return [f"damaged inside ({_reason(error)})"]


def _attribute_problems(path: Path, handle: h5py.File) -> list[str]:
    missing = [name for name in ROOT_ATTRIBUTES if name not in handle.attrs]
    if missing:
        return [f"lacks the root attributes {', '.join(missing)}"]
    try:
        params = json.loads(handle.attrs["params"])
    except (TypeError, ValueError) as error:
        return [f"its params attribute is not JSON ({_reason(error)})"]
    recorded = str(handle.attrs["params_hash"])
    problems = []
    if params_hash(params) != recorded:
        problems.append(f"its params hash to {params_hash(params)}, but it records {recorded}")
    if CACHE_NAME.fullmatch(path.stem) and path.stem != recorded:
        problems.append(f"named {path.stem} (its parameters' hash), but it records {recorded}")
    return problems


def _group_problems(handle: h5py.File, deep: bool) -> list[str]:
    problems = []

    def visit(name: str, item) -> None:
        if not isinstance(item, h5py.Dataset):
            return
        if deep:
            item[()]
        if RAGGED_COLUMNS in item.attrs:
            problems.extend(_ragged_problems(item))

    handle.visititems(visit)
    return problems


def _ragged_problems(offsets: h5py.Dataset) -> list[str]:
    where, group = offsets.name, offsets.parent
    values = offsets[()]
    if values.ndim != 1 or values.size == 0 or values[0] != 0 or np.any(np.diff(values) < 0):
        return [f"{where}: offsets do not start at 0 and grow"]
    problems = []
    for column, axis in json.loads(offsets.attrs[RAGGED_COLUMNS]).items():
        if column not in group:
            problems.append(f"{where}: its column {column} is missing")
        elif group[column].shape[axis] != values[-1]:
            problems.append(f"{group[column].name}: {group[column].shape[axis]} items, its offsets end at {values[-1]}")
    return problems


def set_aside(path: str | Path) -> Path:
    """Rename a damaged file to ``<name>.damaged-<time>`` beside it; returns the new path."""
    path = Path(path)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    os.replace(path, aside)
    return aside
