"""jAER AEDAT 2.0 files with DVS128 addressing (CIFAR10-DVS, MNIST-DVS).

``#`` header lines (the first is ``#!AER-DAT2.0``), then big-endian uint32 pairs (address,
timestamp µs) with x = (address >> 1) & 0x7F, y = (address >> 8) & 0x7F, p = address & 1.
"""

from pathlib import Path

import numpy as np

from evrepro.events.array import EventFormatError, check_field_range, make_events

MAGIC = b"#!AER-DAT2.0"
RECORD_DTYPE = np.dtype([("address", ">u4"), ("t", ">u4")])


def header_end(raw: bytes) -> int:
    """Offset of the first byte after the ``#`` header lines."""
    offset = 0
    while raw[offset : offset + 1] == b"#":
        end = raw.find(b"\n", offset)
        if end < 0:
            return len(raw)
        offset = end + 1
    return offset


def read_aedat2_dvs128(path: str | Path) -> np.ndarray:
    """Read an AEDAT 2.0 file recorded by a DVS128."""
    raw = Path(path).read_bytes()
    if not raw.startswith(MAGIC):
        raise EventFormatError(f"{path}: does not start with {MAGIC.decode()}")
    offset = header_end(raw)
    payload = len(raw) - offset
    if payload % RECORD_DTYPE.itemsize:
        raise EventFormatError(f"{path}: {payload} payload bytes is not a whole number of 8-byte records")
    records = np.frombuffer(raw, dtype=RECORD_DTYPE, offset=offset)
    address = records["address"]
    return make_events(records["t"], (address >> 1) & 0x7F, (address >> 8) & 0x7F, address & 1)


def write_aedat2_dvs128(path: str | Path, events: np.ndarray) -> None:
    """Write events as AEDAT 2.0 with DVS128 addressing."""
    where = str(path)
    for field, high in (("x", 127), ("y", 127), ("p", 1), ("t", 2**32 - 1)):
        check_field_range(events, field, 0, high, where)
    records = np.empty(events.size, dtype=RECORD_DTYPE)
    records["address"] = (
        events["y"].astype(np.uint32) << 8 | events["x"].astype(np.uint32) << 1 | events["p"].astype(np.uint32)
    )
    records["t"] = events["t"]
    Path(path).write_bytes(MAGIC + b"\r\n# written by evrepro\r\n" + records.tobytes())
