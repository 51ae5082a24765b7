"""Prophesee ``.dat`` files with Event2D records (N-CARS ``obj_*_td.dat``, Gen1 ``*_td.dat``).

Optional ASCII header lines starting with ``%``; after a header, one byte event type (0 = Event2D)
and one byte event size (8). Then little-endian records: uint32 timestamp (µs) and a uint32 word
with x in bits 0-13, y in bits 14-27 and polarity in bit 28.
"""

from pathlib import Path

import numpy as np

from evrepro.events.array import EventFormatError, check_field_range, make_events

EVENT2D_TYPE = 0
EVENT2D_SIZE = 8
RECORD_DTYPE = np.dtype([("t", "<u4"), ("data", "<u4")])
CONTROL_BYTES = frozenset(range(0x20)) - {0x09, 0x0D} | {0x7F}  # everything but text (tab and CR allowed)


def _check_header_text(line: bytes, number: int, offset: int, where: str) -> None:
    """Header lines are text: a control byte means a damaged header or a file of another kind."""
    bad = next((k for k, byte in enumerate(line) if byte in CONTROL_BYTES), None)
    if bad is not None:
        raise EventFormatError(
            f"{where}: header line {number} (from byte {offset}) holds byte 0x{line[bad]:02x} at byte {offset + bad}, "
            "which is not text: the header is damaged or this is not a Prophesee .dat file"
        )


def split_header(raw: bytes, where: str) -> tuple[list[str], int]:
    """Return the header lines and the offset of the first record.

    A header must be text lines, each ending in a newline, followed by the event type and size bytes;
    a file that ends inside its header or before those two bytes is truncated.
    """
    lines, offset = [], 0
    while raw[offset : offset + 1] == b"%":
        end = raw.find(b"\n", offset)
        if end < 0:
            raise EventFormatError(f"{where}: header line {len(lines) + 1} at byte {offset} has no end of line: "
                                   "the file is truncated or its header damaged")
        _check_header_text(raw[offset:end], len(lines) + 1, offset, where)
        lines.append(raw[offset:end].decode("latin-1").rstrip("\r"))
        offset = end + 1
    if lines:
        if len(raw) < offset + 2:
            raise EventFormatError(
                f"{where}: ends at byte {len(raw)}, right after its {len(lines)} header lines, without the event "
                "type and size bytes: the file is truncated"
            )
        event_type, event_size = raw[offset], raw[offset + 1]
        if event_type != EVENT2D_TYPE or event_size != EVENT2D_SIZE:
            raise EventFormatError(
                f"{where}: event type {event_type} size {event_size} at byte {offset}; only Event2D "
                "(type 0, size 8) is supported"
            )
        offset += 2
    return lines, offset


def read_prophesee_dat(path: str | Path) -> np.ndarray:
    """Read a Prophesee Event2D ``.dat`` file."""
    raw = Path(path).read_bytes()
    _, offset = split_header(raw, str(path))
    payload = len(raw) - offset
    if payload % EVENT2D_SIZE:
        raise EventFormatError(f"{path}: {payload} payload bytes from byte {offset} is not a whole number of "
                               "8-byte records: the file is truncated")
    records = np.frombuffer(raw, dtype=RECORD_DTYPE, offset=offset)
    data = records["data"]
    return make_events(records["t"], data & 0x3FFF, (data >> 14) & 0x3FFF, (data >> 28) & 1)


def write_prophesee_dat(path: str | Path, events: np.ndarray, header_lines=("Data file containing Event2D events",)):
    """Write events as a Prophesee Event2D ``.dat`` file with the given header lines."""
    where = str(path)
    for field, high in (("x", 0x3FFF), ("y", 0x3FFF), ("p", 1), ("t", 2**32 - 1)):
        check_field_range(events, field, 0, high, where)
    header = b"".join(f"% {line}\n".encode("latin-1") for line in header_lines)
    records = np.empty(events.size, dtype=RECORD_DTYPE)
    records["t"] = events["t"]
    records["data"] = (
        events["x"].astype(np.uint32) | events["y"].astype(np.uint32) << 14 | events["p"].astype(np.uint32) << 28
    )
    Path(path).write_bytes(header + bytes([EVENT2D_TYPE, EVENT2D_SIZE]) + records.tobytes())
