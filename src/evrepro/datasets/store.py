"""The events store ``results/events/{dataset}.h5``: one canonical HDF5 file per dataset.

Per split group: concatenated ``t`` (int64 µs), ``x``, ``y`` (uint16), ``p`` (int8 0/1), with
``offsets`` (int64, S+1) marking sample boundaries, ``label`` (int32) and ``sample_id`` (string); where the
dataset annotates its samples (N-Caltech101), ``box`` (float32, S×4: x0, y0, width, height, NaN if missing).
Event columns are chunked and compressed, so one sample is read without reading its split. Root
attributes: ``format``, ``params`` (JSON), ``params_hash``, ``evrepro_version``, ``inputs`` (JSON of
input hashes), ``sensor_size`` (width, height), ``class_names`` (JSON), ``source`` (JSON), and the
recordings the build set right (JSON lists): ``empty_recordings`` (left out) and
``resorted_recordings`` (timestamps sorted); ``orientation`` (JSON list of the fixes applied) and
``split_manifest_sha256`` (the hash of the split manifest written beside the store).
"""

import json
from pathlib import Path

import h5py
import numpy as np

from evrepro.events import EVENT_DTYPE, make_events
from evrepro.storage.fileio import atomic_output
from evrepro.storage.h5meta import H5Store, root_attributes
from evrepro.storage.ragged import RaggedWriter

FORMAT = "evrepro.events/1"
EVENT_FIELDS = ("t", "x", "y", "p")
CHUNK_EVENTS = 1 << 15
FLUSH_EVENTS = 1 << 20
NO_BOX = (np.nan,) * 4


class SplitWriter:
    """Appends samples to one split group: ragged event columns plus labels and sample ids."""

    def __init__(self, group: h5py.Group):
        self.group = group
        columns = {field: (EVENT_DTYPE[field], (0,), 0) for field in EVENT_FIELDS}
        self.events = RaggedWriter(group, columns, "offsets", chunk=CHUNK_EVENTS, flush_items=FLUSH_EVENTS)
        self.labels, self.sample_ids, self.boxes = [], [], []

    def add(self, label: int, sample_id: str, events: np.ndarray, box=None) -> None:
        self.events.add(**{field: events[field] for field in EVENT_FIELDS})
        self.labels.append(label)
        self.sample_ids.append(sample_id)
        self.boxes.append(NO_BOX if box is None else box)

    def __len__(self) -> int:
        return len(self.labels)

    def close(self) -> None:
        self.events.close()
        self.group.create_dataset("label", data=np.asarray(self.labels, dtype=np.int32))
        self.group.create_dataset("sample_id", data=self.sample_ids, dtype=h5py.string_dtype())
        if any(box is not NO_BOX for box in self.boxes):
            self.group.create_dataset("box", data=np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4))


def write_split_store(path: str | Path, format_name: str, items, split_writer, *, sensor_size, class_names,
                      source: dict, params: dict, inputs: dict | None = None, attributes_after=None) -> dict[str, int]:
    """Write ``items`` — (split, *what ``split_writer(group).add`` takes) — atomically to ``path``, one group per
    split, with the root attributes every event store carries.

    ``attributes_after()``, when given, returns root attributes to add once every item is written (what reading
    them found). Returns the number of items per split.
    """
    with atomic_output(path) as temporary:
        with h5py.File(temporary, "w") as handle:
            handle.attrs.update(root_attributes(
                format_name, params, inputs or {}, sensor_size=np.asarray(sensor_size, dtype=np.int64),
                class_names=json.dumps(list(class_names)), source=json.dumps(source, sort_keys=True)))
            writers = {}
            for split, *item in items:
                if split not in writers:
                    writers[split] = split_writer(handle.create_group(split))
                writers[split].add(*item)
            for writer in writers.values():
                writer.close()
            if attributes_after:
                handle.attrs.update(attributes_after())
            counts = {split: len(writer) for split, writer in writers.items()}
    return counts


def write_events_store(path: str | Path, samples, **facts) -> dict[str, int]:
    """Write ``samples`` — (split, label, sample_id, events[, box]) — atomically to ``path`` (``write_split_store``)."""
    return write_split_store(path, FORMAT, samples, SplitWriter, **facts)


class EventColumnsStore(H5Store):
    """What the events store and the recordings store (Gen1) share: ragged event columns per split with
    ``offsets``, and the build's record (parameters, recordings set right, orientation, split manifest hash)."""

    def __init__(self, path: str | Path):
        super().__init__(path)
        self._offsets: dict[str, np.ndarray] = {}

    def attr_json(self, name: str):
        """A JSON root attribute (``params``, ``source``, ``inputs``) as Python data."""
        return json.loads(self.handle.attrs[name])

    def set_right(self, kind: str) -> list[dict]:
        """Recordings the build left out (``"empty"``) or sorted by time (``"resorted"``), with split and id."""
        return json.loads(self.handle.attrs.get(f"{kind}_recordings", "[]"))

    @property
    def orientation(self) -> list[str]:
        """The orientation fixes applied to every split when the store was built (datasets.orientation)."""
        return json.loads(self.handle.attrs.get("orientation", "[]"))

    @property
    def split_manifest_sha256(self) -> str:
        """SHA-256 of the split manifest the store was built with (datasets.splits.manifest_hash)."""
        return str(self.handle.attrs.get("split_manifest_sha256", ""))

    def offsets(self, split: str) -> np.ndarray:
        if split not in self._offsets:
            self._offsets[split] = self.handle[split]["offsets"][:]
        return self._offsets[split]

    def num_samples(self, split: str) -> int:
        return self.offsets(split).size - 1

    def event_counts(self, split: str) -> np.ndarray:
        return np.diff(self.offsets(split))

    def durations_us(self, split: str, block_events: int = 1 << 22) -> np.ndarray:
        """Last minus first timestamp of every sample (0 for empty samples), reading ``t`` in blocks."""
        offsets = self.offsets(split)
        counts = np.diff(offsets)
        firsts, lasts = offsets[:-1], offsets[1:] - 1
        t_first = np.zeros(counts.size, dtype=np.int64)
        t_last = np.zeros(counts.size, dtype=np.int64)
        column = self.handle[split]["t"]
        for start in range(0, int(offsets[-1]), block_events):
            block = column[start : start + block_events]
            stop = start + block.size
            for wanted, out in ((firsts, t_first), (lasts, t_last)):
                hit = (counts > 0) & (wanted >= start) & (wanted < stop)
                out[hit] = block[wanted[hit] - start]
        return t_last - t_first


class EventsStore(EventColumnsStore):
    """Read access to an events store (one sample per recording, with labels); use as a context manager."""

    FORMAT = FORMAT

    def labels(self, split: str) -> np.ndarray:
        return self.handle[split]["label"][:]

    def sample_ids(self, split: str) -> list[str]:
        return [value.decode() for value in self.handle[split]["sample_id"][:]]

    def box(self, split: str, index: int) -> np.ndarray | None:
        """The sample's annotated box (x0, y0, width, height; N-Caltech101), or None where it has none."""
        if "box" not in self.handle[split]:
            return None
        box = self.handle[split]["box"][index]
        return None if np.isnan(box).all() else box

    def sample(self, split: str, index: int) -> np.ndarray:
        """The events of one sample, reading only the chunks that hold it."""
        n = self.num_samples(split)
        if not 0 <= index < n:
            raise IndexError(f"{self.path}: sample {index} out of range for split {split!r} with {n} samples")
        start, stop = self.offsets(split)[index : index + 2]
        group = self.handle[split]
        return make_events(*(group[field][start:stop] for field in EVENT_FIELDS))
