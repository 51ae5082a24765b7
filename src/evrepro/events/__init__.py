"""Event arrays and the event-camera file formats evrepro reads and writes.

Events are numpy structured arrays with fields ``t`` (int64, µs), ``x``, ``y`` (uint16) and ``p``
(int8, 0 = OFF, 1 = ON): the field names tonic uses, so arrays from either library mix.
"""

from evrepro.events.array import EVENT_DTYPE, EventFormatError, make_events
from evrepro.events.dispatch import read, reader_for, write

__all__ = ["EVENT_DTYPE", "EventFormatError", "make_events", "read", "reader_for", "write"]
