"""Root attributes and format checks of every HDF5 store evrepro writes (file contracts: docs/architecture.md)."""

import json
from pathlib import Path

import h5py

from evrepro import __version__
from evrepro.errors import DamagedFile
from evrepro.storage.fileio import params_hash
from evrepro.storage.verify import set_aside, store_problems


def root_attributes(format_name: str, params: dict, inputs: dict, **extra) -> dict:
    """``format``, ``params`` (JSON), ``params_hash``, ``evrepro_version``, ``inputs`` (JSON) and ``extra``."""
    return {"format": format_name, "params": json.dumps(params, sort_keys=True), "params_hash": params_hash(params),
            "evrepro_version": __version__, "inputs": json.dumps(inputs, sort_keys=True), **extra}


def open_store(path: str | Path, format_name: str | None = None) -> h5py.File:
    """Open an HDF5 store for reading, verified (``storage.verify``); the error names the file when its ``format``
    attribute is not ``format_name`` (any format when None). A damaged store is set aside and refused in one line:
    the next run builds it again."""
    found = _format_of(path)
    if format_name is not None and found is not None and found != format_name:
        raise ValueError(f"{path}: format attribute is {found!r}, expected {format_name!r}")
    problems = store_problems(path)
    if problems:
        try:
            aside = f"set aside as {set_aside(path).name}"
        except FileNotFoundError:
            aside = "set aside by another job"
        raise DamagedFile(f"{path}: damaged store: {'; '.join(problems)}; {aside}; the workflow builds it anew when "
                          f"a job needs it")
    return h5py.File(path, "r")


def _format_of(path) -> str | None:
    """The ``format`` attribute of a file that opens as HDF5, else None."""
    try:
        with h5py.File(path, "r") as handle:
            return handle.attrs.get("format")
    except OSError:
        return None


class H5Store:
    """Base of the store readers: opens the file with its format checked; splits, sensor size, classes."""

    FORMAT = ""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.handle = open_store(self.path, self.FORMAT)
        self.sensor_size = tuple(int(v) for v in self.handle.attrs["sensor_size"])
        self.class_names = json.loads(self.handle.attrs["class_names"])

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.handle.close()

    @property
    def splits(self) -> list[str]:
        """Split groups in the order train, val, test, then any others by name."""
        order = {"train": 0, "val": 1, "test": 2}
        return sorted(self.handle.keys(), key=lambda name: (order.get(name, 9), name))
