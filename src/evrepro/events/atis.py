"""ATIS 40-bit ``.bin`` files (N-MNIST, N-Caltech101; slayerPytorch's ``.bs2`` is the same layout).

Five bytes per event, big-endian bit order, no header: byte 0 = x, byte 1 = y, bit 7 of byte 2 =
polarity, and a 23-bit timestamp in µs in the rest. Records with y == 240 are timestamp-overflow
markers: like Orchard's reference reader (and tonic), each one adds ``OVERFLOW_INCREMENT_US`` to every
later timestamp, and the markers themselves are dropped.
"""

from pathlib import Path

import numpy as np

from evrepro.events.array import EventFormatError, check_field_range, make_events

RECORD_BYTES = 5
OVERFLOW_Y = 240
OVERFLOW_INCREMENT_US = 2**13
MAX_STORED_T = 2**23 - 1


def decode_atis(raw: bytes | np.ndarray, where: str = "<bytes>") -> np.ndarray:
    """Decode ATIS records (``bytes`` or a uint8 array) into an event array."""
    data = np.frombuffer(raw, dtype=np.uint8) if isinstance(raw, bytes | bytearray) else raw
    if data.size % RECORD_BYTES:
        raise EventFormatError(
            f"{where}: {data.size} bytes is not a whole number of {RECORD_BYTES}-byte ATIS records"
        )
    records = data.reshape(-1, RECORD_BYTES)
    y = records[:, 1]
    t = (
        (records[:, 2].astype(np.int64) & 0x7F) << 16
        | records[:, 3].astype(np.int64) << 8
        | records[:, 4].astype(np.int64)
    )
    overflow = y == OVERFLOW_Y
    if overflow.any():
        t = t + np.cumsum(overflow) * OVERFLOW_INCREMENT_US
    keep = ~overflow
    return make_events(t[keep], records[keep, 0], y[keep], records[keep, 2] >> 7)


def read_atis(path: str | Path) -> np.ndarray:
    """Read an ATIS ``.bin`` file."""
    return decode_atis(np.fromfile(path, dtype=np.uint8), where=str(path))


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
