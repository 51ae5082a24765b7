"""Pick a reader or writer for an event file: by extension first, then by the file's first bytes."""

from collections.abc import Callable
from pathlib import Path

import numpy as np

from evrepro.events.aedat import MAGIC as AEDAT2_MAGIC
from evrepro.events.aedat import read_aedat2_dvs128, write_aedat2_dvs128
from evrepro.events.array import EventFormatError
from evrepro.events.atis import read_atis, write_atis
from evrepro.events.matlab import read_asl_mat, write_asl_mat
from evrepro.events.prophesee import read_prophesee_dat, write_prophesee_dat

READERS: dict[str, Callable[[Path], np.ndarray]] = {
    ".bin": read_atis,
    ".bs2": read_atis,
    ".dat": read_prophesee_dat,
    ".aedat": read_aedat2_dvs128,
    ".mat": read_asl_mat,
}
WRITERS = {
    ".bin": write_atis,
    ".bs2": write_atis,
    ".dat": write_prophesee_dat,
    ".aedat": write_aedat2_dvs128,
    ".mat": write_asl_mat,
}


def reader_for(path: str | Path) -> Callable[[Path], np.ndarray]:
    """Return the reader for ``path``: from its extension, else from its header bytes."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is not None:
        return reader
    with open(path, "rb") as handle:
        head = handle.read(len(AEDAT2_MAGIC))
    if head.startswith(AEDAT2_MAGIC):
        return read_aedat2_dvs128
    if head.startswith(b"% "):
        return read_prophesee_dat
    raise EventFormatError(
        f"{path}: unknown event file: extension {path.suffix!r} is none of {sorted(READERS)} "
        f"and the header {head!r} names no known format"
    )


def read(path: str | Path) -> np.ndarray:
    """Read an event file into an ``EVENT_DTYPE`` array, picking the reader from the file."""
    return reader_for(path)(Path(path))


def write(path: str | Path, events: np.ndarray) -> None:
    """Write events in the format named by the extension of ``path``."""
    writer = WRITERS.get(Path(path).suffix.lower())
    if writer is None:
        raise EventFormatError(f"{path}: cannot write extension {Path(path).suffix!r}; use one of {sorted(WRITERS)}")
    writer(path, events)
