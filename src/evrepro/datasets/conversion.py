"""Reading a dataset's recordings for the events store: checked, set right, oriented, in bounded memory.

Recordings are read one by one, in several worker processes when the events job has threads, with
at most ``2 × workers`` recordings in flight, so memory depends on the largest recording, not on the
dataset. Results come back in listing order, so the store is the same for any number of workers.
"""

import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evrepro.datasets.orientation import orient
from evrepro.events import read
from evrepro.events.array import check_field_range, first_decrease

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recording:
    """What reading one file gave: its events (sorted by time and oriented), or why it was left out."""

    events: np.ndarray
    empty: bool
    decrease: dict | None  # {"decreases", "first": {"event", "t", "previous_t"}} when timestamps were sorted


def check_sensor(events: np.ndarray, sensor_size: tuple[int, int], path: Path, first: int = 0) -> np.ndarray:
    """``events`` when their coordinates fit the sensor; else EventFormatError naming file, event and value
    (``first``: the index of ``events[0]`` in its file)."""
    for field, size in zip("xy", sensor_size):
        check_field_range(events, field, 0, size - 1, f"{path} (sensor {tuple(sensor_size)})", first)
    return events


def read_recording(path: Path, sensor_size: tuple[int, int], fixes: tuple[str, ...]) -> Recording:
    """Read one file: coordinates must fit the sensor (else EventFormatError naming file, event and value);
    decreasing timestamps are sorted (stable) with a warning; then the orientation fixes are applied."""
    events = check_sensor(read(path), sensor_size, path)
    if events.size == 0:
        log.warning("%s: no events; left out of the events store", path)
        return Recording(events, True, None)
    decrease = None
    if found := first_decrease(events["t"]):
        index, steps = found
        before, after = int(events["t"][index - 1]), int(events["t"][index])
        log.warning("%s: timestamp decreases at event %d (%d after %d; %d decreases in all); sorted by time",
                    path, index, after, before, steps)
        decrease = {"decreases": steps, "first": {"event": index, "t": after, "previous_t": before}}
        events = events[np.argsort(events["t"], kind="stable")]
    return Recording(orient(events, fixes, sensor_size), False, decrease)


def read_recordings(paths: list[Path], sensor_size: tuple[int, int], fixes: tuple[str, ...],
                    workers: int = 1) -> Iterator[Recording]:
    """``read_recording`` for every path, in order, with ``workers`` processes and a bounded queue."""
    if workers <= 1:
        for path in paths:
            yield read_recording(path, sensor_size, fixes)
        return
    with ProcessPoolExecutor(workers) as pool:
        pending = deque()
        for path in paths:
            pending.append(pool.submit(read_recording, path, sensor_size, fixes))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
