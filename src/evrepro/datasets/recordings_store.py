"""The recordings store ``results/events/{dataset}.h5`` of a detection dataset (Gen1): long recordings
with boxes, stored so that a window of time is read without reading its recording.

Per split group: concatenated ``t`` (int64 µs), ``x``, ``y`` (uint16), ``p`` (int8) with ``offsets``
(int64, R+1) marking recording boundaries; ``recording_id`` (string); a time index ``time_index`` with
``time_index_offsets`` (R+1): for recording r, entry k is the index (within the recording) of its first
event at or after ``k × INDEX_STEP_US``; and the boxes (``evrepro.events.boxes.BOX_DTYPE`` columns
``box_t``, ``box_x``, ... ) with ``box_offsets`` (R+1), sorted by time. Columns are chunked, so a
window reads the chunks that hold it. Root attributes are those of the events store
(``evrepro.datasets.store``), with ``format`` ``evrepro.recordings/1``.
"""

from collections.abc import Iterable
from pathlib import Path

import h5py
import numpy as np

from evrepro.datasets.store import EventColumnsStore, EventsStore, write_split_store
from evrepro.events import EVENT_DTYPE, make_events
from evrepro.events.array import EventFormatError
from evrepro.events.boxes import BOX_DTYPE
from evrepro.storage.h5meta import open_store
from evrepro.storage.ragged import RaggedWriter

FORMAT = "evrepro.recordings/1"
EVENT_FIELDS = ("t", "x", "y", "p")
INDEX_STEP_US = 50_000
CHUNK_EVENTS = 1 << 16


class RecordingWriter:
    """Appends recordings, block by block, with their boxes to one split group."""

    def __init__(self, group: h5py.Group):
        self.group = group
        self.events = RaggedWriter(group, {f: (EVENT_DTYPE[f], (0,), 0) for f in EVENT_FIELDS}, "offsets",
                                   chunk=CHUNK_EVENTS)
        self.index = RaggedWriter(group, {"time_index": (np.int64, (0,), 0)}, "time_index_offsets")
        self.boxes = RaggedWriter(group, {f"box_{f}": (BOX_DTYPE[f], (0,), 0) for f in BOX_DTYPE.names},
                                  "box_offsets")
        self.recording_ids: list[str] = []

    def add(self, recording_id: str, blocks: Iterable[np.ndarray], boxes: np.ndarray, where: str) -> int:
        """Write one recording from its event blocks (time must not decrease) and its boxes; returns its events."""
        count, last_t, index, entries = 0, None, [], 0
        for block in blocks:
            t = block["t"]
            steps = np.flatnonzero(np.diff(t) < 0)
            if last_t is not None and t.size and t[0] < last_t:
                steps = np.concatenate([[-1], steps])
            if steps.size:
                i = int(steps[0]) + 1
                before = last_t if i == 0 else int(t[i - 1])
                raise EventFormatError(f"{where}: timestamp decreases at event {count + i} ({int(t[i])} after "
                                       f"{before}); a recording's time index needs time order")
            if t.size:
                index.append(self._index_entries(t, count, entries))
                entries += index[-1].size
                last_t = int(t[-1])
            self.events.extend(**{f: block[f] for f in EVENT_FIELDS})
            count += block.size
        self.events.end_sample()
        self.index.add(time_index=np.concatenate(index) if index else np.zeros(0, np.int64))
        order = np.argsort(boxes["t"], kind="stable")
        self.boxes.add(**{f"box_{f}": boxes[f][order] for f in BOX_DTYPE.names})
        self.recording_ids.append(recording_id)
        return count

    @staticmethod
    def _index_entries(t: np.ndarray, first: int, done: int) -> np.ndarray:
        """Entries ``done``, ``done + 1``, ... of the time index that this block (whose first event is the
        recording's event ``first``) holds: the first event with time >= k × INDEX_STEP_US."""
        steps = np.arange(done, int(t[-1]) // INDEX_STEP_US + 1) * INDEX_STEP_US
        return first + np.searchsorted(t, steps, side="left")

    def __len__(self) -> int:
        return len(self.recording_ids)

    def close(self) -> None:
        for writer in (self.events, self.index, self.boxes):
            writer.close()
        self.group.create_dataset("recording_id", data=self.recording_ids, dtype=h5py.string_dtype())


def write_recordings_store(path: str | Path, recordings, **facts) -> dict[str, int]:
    """Write (split, recording id, event blocks, boxes, where) items atomically to ``path``
    (``evrepro.datasets.store.write_split_store``); returns recordings per split."""
    return write_split_store(path, FORMAT, recordings, RecordingWriter, **facts)


class RecordingsStore(EventColumnsStore):
    """Read access to a recordings store; use as a context manager."""

    FORMAT = FORMAT

    def recording_ids(self, split: str) -> list[str]:
        return [value.decode() for value in self.handle[split]["recording_id"][:]]

    def box_counts(self, split: str) -> np.ndarray:
        """Boxes per recording."""
        return np.diff(self.handle[split]["box_offsets"][:])

    def boxes(self, split: str, index: int) -> np.ndarray:
        """The boxes of one recording, sorted by time, as ``BOX_DTYPE``."""
        group = self.handle[split]
        start, stop = group["box_offsets"][index : index + 2]
        boxes = np.empty(stop - start, dtype=BOX_DTYPE)
        for field in BOX_DTYPE.names:
            boxes[field] = group[f"box_{field}"][start:stop]
        return boxes

    def window(self, split: str, index: int, t_start: int, t_stop: int) -> np.ndarray:
        """Events of one recording with ``t_start <= t < t_stop``, reading only the chunks around the window."""
        group = self.handle[split]
        first, last = (int(v) for v in group["offsets"][index : index + 2])
        i0, i1 = (int(v) for v in group["time_index_offsets"][index : index + 2])
        entries = i1 - i0
        lo_k = min(max(t_start // INDEX_STEP_US, 0), entries)
        hi_k = min(max(-(-t_stop // INDEX_STEP_US), 0), entries)
        lo = int(group["time_index"][i0 + lo_k]) if lo_k < entries else last - first
        hi = int(group["time_index"][i0 + hi_k]) if hi_k < entries else last - first
        t = group["t"][first + lo : first + hi]
        a, b = np.searchsorted(t, t_start, side="left"), np.searchsorted(t, t_stop, side="left")
        start, stop = first + lo + a, first + lo + b
        return make_events(t[a:b], *(group[f][start:stop] for f in ("x", "y", "p")))

    def recording(self, split: str, index: int) -> np.ndarray:
        """Every event of one recording (a 60 s Gen1 recording is large: prefer ``window``)."""
        group = self.handle[split]
        start, stop = group["offsets"][index : index + 2]
        return make_events(*(group[f][start:stop] for f in EVENT_FIELDS))


def open_events(path: str | Path) -> EventsStore | RecordingsStore:
    """The events store of a classification dataset (or of one whose samples have boxes), or the recordings store of
    a detection dataset, by the store's format."""
    with open_store(path) as handle:
        recordings = handle.attrs.get("format") == RecordingsStore.FORMAT
    return RecordingsStore(path) if recordings else EventsStore(path)
