"""The event array type shared by every reader, writer and store."""

import numpy as np

from evrepro.errors import EvreproError

EVENT_DTYPE = np.dtype([("t", np.int64), ("x", np.uint16), ("y", np.uint16), ("p", np.int8)])


class EventFormatError(EvreproError, ValueError):
    """A file's bytes or an event array do not fit the format; the message names file and value."""


def make_events(t, x, y, p) -> np.ndarray:
    """Pack equal-length columns into an ``EVENT_DTYPE`` structured array."""
    t, x, y, p = (np.asarray(column) for column in (t, x, y, p))
    if not (t.shape == x.shape == y.shape == p.shape and t.ndim == 1):
        raise ValueError(f"event columns differ in shape: t{t.shape} x{x.shape} y{y.shape} p{p.shape}")
    events = np.empty(t.shape[0], dtype=EVENT_DTYPE)
    events["t"], events["x"], events["y"], events["p"] = t, x, y, p
    return events


def check_field_range(events: np.ndarray, field: str, low: int, high: int, where: str, first: int = 0) -> None:
    """Raise ``EventFormatError`` naming ``where`` if ``events[field]`` leaves ``[low, high]``; ``first`` is the
    index of ``events[0]`` in its file, for a block of a longer recording."""
    values = events[field]
    if values.size == 0:
        return
    bad = np.flatnonzero((values < low) | (values > high))
    if bad.size:
        i = int(bad[0])
        raise EventFormatError(
            f"{where}: event {first + i} has {field}={values[i]}, outside [{low}, {high}] ({bad.size} such events"
            + (" in this block)" if first else ")")
        )


def first_decrease(t: np.ndarray) -> tuple[int, int] | None:
    """(index of the first timestamp smaller than its predecessor, how many such steps), or None if sorted."""
    steps = np.flatnonzero(np.diff(t) < 0)
    return (int(steps[0]) + 1, int(steps.size)) if steps.size else None
