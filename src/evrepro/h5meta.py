"""Root attributes and format checks shared by every HDF5 store evrepro writes (DESIGN.md file contracts)."""

import json
from pathlib import Path

import h5py

from evrepro import __version__
from evrepro.fileio import params_hash


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
