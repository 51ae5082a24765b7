"""ATIS 40-bit ``.bin`` files (N-MNIST, N-Caltech101; slayerPytorch's ``.bs2`` is the same layout).

Five bytes per event, big-endian bit order, no header: byte 0 = x, byte 1 = y, bit 7 of byte 2 =
polarity, and a 23-bit timestamp in µs in the rest. Records with y == 240 are timestamp-overflow
markers: like Orchard's reference reader (and tonic), each one adds ``OVERFLOW_INCREMENT_US`` to every
later timestamp, and the markers themselves are dropped. The records are decoded by a numba kernel straight
into the event array; a file, block by block (``evrepro.events.blocks``).
"""

import io
from pathlib import Path

import numba
import numpy as np

from evrepro.events.array import EVENT_DTYPE, EventFormatError, check_field_range
from evrepro.events.blocks import record_blocks

RECORD_BYTES = 5
OVERFLOW_Y = 240
OVERFLOW_INCREMENT_US = 2**13
MAX_STORED_T = 2**23 - 1


def _record_count(size: int, where: str) -> int:
    """The number of records in ``size`` bytes, which must hold whole records."""
    if size % RECORD_BYTES:
        raise EventFormatError(f"{where}: {size} bytes is not a whole number of {RECORD_BYTES}-byte ATIS records")
    return size // RECORD_BYTES


@numba.njit(cache=True)
def _decode_records(raw, events, kept, overflows):
    """Decode ATIS records (uint8) into ``events[kept:]``, given the overflow markers before them, dropping the
    markers; return the events written and the markers seen, both counted from the file's start."""
    for k in range(0, raw.size, RECORD_BYTES):
        if raw[k + 1] == OVERFLOW_Y:
            overflows += 1
            continue
        stored_t = np.int64(raw[k + 2] & 0x7F) << 16 | np.int64(raw[k + 3]) << 8 | np.int64(raw[k + 4])
        event = events[kept]
        event.t = stored_t + overflows * OVERFLOW_INCREMENT_US
        event.x, event.y, event.p = raw[k], raw[k + 1], raw[k + 2] >> 7
        kept += 1
    return kept, overflows


def decode_atis(raw: bytes | np.ndarray, where: str = "<bytes>") -> np.ndarray:
    """Decode ATIS records (``bytes`` or a uint8 array) into an event array."""
    data = np.frombuffer(raw, dtype=np.uint8) if isinstance(raw, bytes | bytearray) else raw
    events = np.empty(_record_count(data.size, where), EVENT_DTYPE)
    kept, _ = _decode_records(data, events, 0, 0)
    return events[:kept]  # markers are rare: the few records they leave unused are not worth a copy


def read_atis(path: str | Path) -> np.ndarray:
    """Read an ATIS ``.bin`` file block by block, straight into its event array."""
    where = str(path)
    with open(path, "rb") as handle:
        count = _record_count(handle.seek(0, io.SEEK_END), where)
        handle.seek(0)
        events = np.empty(count, EVENT_DTYPE)
        kept = overflows = 0
        for block in record_blocks(handle, count, RECORD_BYTES, where):
            kept, overflows = _decode_records(block, events, kept, overflows)
    return events[:kept]


def encode_atis(events: np.ndarray, where: str = "<events>") -> bytes:
    """Encode events as ATIS records, inserting overflow markers where timestamps need them."""
    check_field_range(events, "x", 0, 255, where)
    check_field_range(events, "y", 0, OVERFLOW_Y - 1, where)
    check_field_range(events, "p", 0, 1, where)
    check_field_range(events, "t", 0, np.iinfo(np.int64).max, where)
    t = events["t"].astype(np.int64)
    # markers needed before each event so that its stored value fits in 23 bits
    markers = np.maximum(0, -((MAX_STORED_T - t) // OVERFLOW_INCREMENT_US))
    if markers.size and np.any(np.diff(markers) < 0):
        raise EventFormatError(f"{where}: timestamps beyond 2^23 µs must not decrease to be written as ATIS")
    stored = t - markers * OVERFLOW_INCREMENT_US
    new_markers = np.diff(markers, prepend=0)
    n_out = events.size + int(new_markers.sum())
    out = np.zeros((n_out, RECORD_BYTES), dtype=np.uint8)
    positions = np.arange(events.size) + np.cumsum(new_markers)
    is_event = np.zeros(n_out, dtype=bool)
    is_event[positions] = True
    out[~is_event, 1] = OVERFLOW_Y
    out[positions, 0] = events["x"]
    out[positions, 1] = events["y"]
    out[positions, 2] = (events["p"].astype(np.uint8) << 7) | ((stored >> 16) & 0x7F).astype(np.uint8)
    out[positions, 3] = (stored >> 8) & 0xFF
    out[positions, 4] = stored & 0xFF
    return out.tobytes()


def write_atis(path: str | Path, events: np.ndarray) -> None:
    """Write events to an ATIS ``.bin`` file."""
    Path(path).write_bytes(encode_atis(events, where=str(path)))
