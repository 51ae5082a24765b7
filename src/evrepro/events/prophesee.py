"""Prophesee ``.dat`` files with Event2D records (N-CARS ``obj_*_td.dat``, Gen1 ``*_td.dat``).

Optional ASCII header lines starting with ``%`` (``% <Key> <value>``, e.g. ``% Width 304``,
``% Height 240``, ``% Version 2``, ``% Date ...``); after a header, one byte event type (0 = Event2D)
and one byte event size (8). Then little-endian records: uint32 timestamp (µs) and a uint32 word
with x in bits 0-13, y in bits 14-27 and polarity in bit 28. The readers decode the file block by block
(``evrepro.events.blocks``) with a numba kernel, straight into the event array.
"""

import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numba
import numpy as np

from evrepro.events.array import EVENT_DTYPE, EventFormatError, check_field_range
from evrepro.events.blocks import record_blocks

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


def _header_lines(handle: BinaryIO, where: str) -> tuple[list[str], int]:
    """Read the ``%`` header lines from the start of ``handle``; return them and the offset after them."""
    lines, offset = [], 0
    while handle.read(1) == b"%":
        handle.seek(offset)
        line = handle.readline()
        if not line.endswith(b"\n"):
            raise EventFormatError(f"{where}: header line {len(lines) + 1} at byte {offset} has no end of line: "
                                   "the file is truncated or its header damaged")
        _check_header_text(line[:-1], len(lines) + 1, offset, where)
        lines.append(line[:-1].decode("latin-1").rstrip("\r"))
        offset += len(line)
    return lines, offset


def _check_type_and_size(pair: bytes, where: str, lines: list[str], offset: int) -> None:
    """The two bytes after a header: event type 0 (Event2D) and size 8; fewer than two means truncated."""
    if len(pair) < 2:
        raise EventFormatError(
            f"{where}: ends at byte {offset + len(pair)}, right after its {len(lines)} header lines, without the "
            "event type and size bytes: the file is truncated"
        )
    if pair[0] != EVENT2D_TYPE or pair[1] != EVENT2D_SIZE:
        raise EventFormatError(
            f"{where}: event type {pair[0]} size {pair[1]} at byte {offset}; only Event2D (type 0, size 8) is supported"
        )


def parse_header(lines: list[str]) -> dict[str, str]:
    """Header lines as {first word lower-cased: rest of the line}; a key given twice keeps its last value."""
    header = {}
    for line in lines:
        key, _, value = line.lstrip("%").strip().partition(" ")
        if key:
            header[key.lower()] = value.strip()
    return header


def read_dat_header(path: str | Path) -> dict[str, str]:
    """Read only the ``%`` header lines of a ``.dat`` file, e.g. ``% Width 304`` as ``{"width": "304"}``."""
    with open(path, "rb") as handle:
        return parse_header(_header_lines(handle, str(path))[0])


def dat_sensor_size(header: dict[str, str], where: str = "<header>") -> tuple[int, int] | None:
    """(width, height) declared by a parsed header, or None unless it declares both."""
    if "width" not in header or "height" not in header:
        return None
    size = []
    for key in ("width", "height"):
        value = header[key]
        if not value.isdigit() or int(value) == 0:
            raise EventFormatError(f"{where}: header declares {key} {value!r}, not a positive whole number")
        size.append(int(value))
    return size[0], size[1]


def _seek_payload(handle: BinaryIO, where: str) -> tuple[int, tuple[int, int] | None]:
    """(number of records, declared (width, height) or None) of an open ``.dat`` file, reading only its header;
    leaves ``handle`` at the first record."""
    lines, offset = _header_lines(handle, where)
    if lines:
        handle.seek(offset)
        _check_type_and_size(handle.read(2), where, lines, offset)
        offset += 2
    payload = handle.seek(0, io.SEEK_END) - offset
    if payload % EVENT2D_SIZE:
        raise EventFormatError(f"{where}: {payload} payload bytes from byte {offset} is not a whole number of "
                               "8-byte records: the file is truncated")
    handle.seek(offset)
    return payload // EVENT2D_SIZE, dat_sensor_size(parse_header(lines), where)


@numba.njit(cache=True)
def _uint32_le(raw, k):
    """The little-endian uint32 in bytes ``raw[k : k + 4]``."""
    return np.uint32(raw[k]) | np.uint32(raw[k + 1]) << 8 | np.uint32(raw[k + 2]) << 16 | np.uint32(raw[k + 3]) << 24


@numba.njit(cache=True)
def _decode_records(raw, events, start):
    """Decode Event2D records (uint8) into ``events[start:]``; return the largest x and y."""
    high_x = high_y = 0
    for i in range(raw.size // EVENT2D_SIZE):
        data = _uint32_le(raw, EVENT2D_SIZE * i + 4)
        x, y = data & 0x3FFF, (data >> 14) & 0x3FFF
        event = events[start + i]
        event.t, event.x, event.y, event.p = _uint32_le(raw, EVENT2D_SIZE * i), x, y, (data >> 28) & 1
        high_x, high_y = max(high_x, x), max(high_y, y)
    return high_x, high_y


def _read_events(handle: BinaryIO, count: int, sensor: tuple[int, int] | None, where: str,
                 first: int = 0) -> np.ndarray:
    """The next ``count`` records of ``handle`` decoded block by block into a new event array, which must lie inside
    ``sensor`` when one is declared; ``first`` is the index of its first event in the file."""
    events = np.empty(count, EVENT_DTYPE)
    start = high_x = high_y = 0
    for block in record_blocks(handle, count, EVENT2D_SIZE, where):
        block_x, block_y = _decode_records(block, events, start)
        start, high_x, high_y = start + block.size // EVENT2D_SIZE, max(high_x, block_x), max(high_y, block_y)
    if sensor is not None and (high_x >= sensor[0] or high_y >= sensor[1]):  # find the first such event to name it
        check_field_range(events, "x", 0, sensor[0] - 1, where, first)
        check_field_range(events, "y", 0, sensor[1] - 1, where, first)
    return events


def read_prophesee_dat(path: str | Path) -> np.ndarray:
    """Read a Prophesee Event2D ``.dat`` file; if the header declares Width and Height, events must lie inside."""
    where = str(path)
    with open(path, "rb") as handle:
        count, sensor = _seek_payload(handle, where)
        return _read_events(handle, count, sensor, where)


def read_prophesee_dat_blocks(path: str | Path, block_events: int = 1 << 22) -> Iterator[np.ndarray]:
    """The events of a ``.dat`` file in blocks of ``block_events``, so a 60 s Gen1 recording needs no more memory
    than a block; errors name the event's index in the whole file."""
    where = str(path)
    with open(path, "rb") as handle:
        count, sensor = _seek_payload(handle, where)
        for start in range(0, count, block_events):
            yield _read_events(handle, min(block_events, count - start), sensor, where, start)


def encode_prophesee_dat(events: np.ndarray, header_lines=("Data file containing Event2D events",),
                         where: str = "<events>") -> bytes:
    """The bytes of a Prophesee Event2D ``.dat`` file holding ``events`` after the given ``%`` header lines."""
    for field, high in (("x", 0x3FFF), ("y", 0x3FFF), ("p", 1), ("t", 2**32 - 1)):
        check_field_range(events, field, 0, high, where)
    header = b"".join(f"% {line}\n".encode("latin-1") for line in header_lines)
    records = np.empty(events.size, dtype=RECORD_DTYPE)
    records["t"] = events["t"]
    records["data"] = (
        events["x"].astype(np.uint32) | events["y"].astype(np.uint32) << 14 | events["p"].astype(np.uint32) << 28
    )
    return header + bytes([EVENT2D_TYPE, EVENT2D_SIZE]) + records.tobytes()


def write_prophesee_dat(path: str | Path, events: np.ndarray, header_lines=("Data file containing Event2D events",)):
    """Write events as a Prophesee Event2D ``.dat`` file with the given header lines."""
    Path(path).write_bytes(encode_prophesee_dat(events, header_lines, where=str(path)))
