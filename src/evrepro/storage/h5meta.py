"""Root attributes and format checks of every HDF5 store evrepro writes (file contracts: docs/architecture.md)."""

import json
from pathlib import Path

import h5py

from evrepro import __version__
from evrepro.storage.fileio import params_hash


def root_attributes(format_name: str, params: dict, inputs: dict, **extra) -> dict:
    """``format``, ``params`` (JSON), ``params_hash``, ``evrepro_version``, ``inputs`` (JSON) and ``extra``."""
    return {"format": format_name, "params": json.dumps(params, sort_keys=True), "params_hash": params_hash(params),
            "evrepro_version": __version__, "inputs": json.dumps(inputs, sort_keys=True), **extra}


def open_store(path: str | Path, format_name: str) -> h5py.File:
    """Open an HDF5 store for reading; the error names the file when its ``format`` attribute differs."""
    handle = h5py.File(path, "r")
    found = handle.attrs.get("format")
    if found != format_name:
        handle.close()
        raise ValueError(f"{path}: format attribute is {found!r}, expected {format_name!r}")
    return handle


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
