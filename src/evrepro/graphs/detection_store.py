"""The detection graph store ``results/detection_graphs/{dataset}/{prep}.h5``: one graph per window of a recordings
store (``evrepro.detection.windows``), with the window's true boxes — or, from an events store whose samples have an
annotated box (N-Caltech101), one graph per sample with its box, labelled with the sample's class at its last event.

Per split, the graph store's columns (``pos``, ``x``, ``node_offsets``, ``edge_index``, ``edge_offsets``) and per
sample its boxes (``box_x``, ``box_y``, ``box_w``, ``box_h``, ``box_class`` with ``box_offsets``), the recording it
comes from (``recording``, an index into ``recording_id``) and the time it is labelled at (``label_t``, µs). A window
with fewer events than ``min_events`` (or none) gives no sample; the split's attribute ``skipped`` counts them.
"""

import json
import logging
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from evrepro.datasets.recordings_store import RecordingsStore, open_events
from evrepro.datasets.store import EventsStore
from evrepro.detection.windows import Window, windows
from evrepro.events.boxes import boxes_from_rows
from evrepro.graphs.detection_params import DetectionGraphParams
from evrepro.graphs.params import GRAPH_ALGORITHM
from evrepro.graphs.store import GraphSplitWriter
from evrepro.storage.fileio import atomic_output, sha256_file
from evrepro.storage.h5meta import root_attributes
from evrepro.storage.ragged import RaggedWriter
from evrepro.storage.sample_cache import SampleCacheReader, SampleError, require_algorithm, versioned_params
from evrepro.storage.stored_names import stored

FORMAT = "evrepro.detection_graphs/1"
BOX_COLUMNS = ("x", "y", "w", "h", "class")
log = logging.getLogger(__name__)


def _recording_windows(store: RecordingsStore, split: str, params: DetectionGraphParams):
    """(recording index, window, events) of every window of a split's recordings."""
    for index in range(len(store.recording_ids(split))):
        for window in windows(store.boxes(split, index), params.windows):
            yield index, window, store.window(split, index, window.start, window.stop)


def _boxed_samples(store: EventsStore, split: str):
    """(sample index, its whole recording as a window with its annotated box, events) of every sample with a box."""
    labels = store.labels(split)
    for index in range(store.num_samples(split)):
        box = store.box(split, index)
        if box is None:
            continue
        events = store.sample(split, index)
        label_t = int(events["t"][-1]) if events.size else 0
        truth = boxes_from_rows([*box, labels[index]], label_t)
        yield index, Window(0, label_t + 1, label_t, truth), events


def _split_samples(store, split: str, params: DetectionGraphParams):
    """(source index, window, events) of every sample of a split with enough events, and how many had too few."""
    source = (_recording_windows(store, split, params) if isinstance(store, RecordingsStore)
              else _boxed_samples(store, split))
    skipped, samples = 0, []
    for index, window, events in source:
        if events.size < max(params.min_events, 1):
            skipped += 1
            continue
        samples.append((index, window, events))
    return samples, skipped


def _source_ids(store, split: str) -> list[str]:
    return store.recording_ids(split) if isinstance(store, RecordingsStore) else store.sample_ids(split)


def build_detection_graph_store(events_path, out_path, params: DetectionGraphParams, progress: bool = True,
                                threads: int = 1) -> dict[str, int]:
    """Preprocess every window of a recordings store (or every boxed sample of an events store) into a detection
    graph store, atomically; samples per split."""
    require_algorithm(params, GRAPH_ALGORITHM, "graph")
    counts = {}
    with open_events(events_path) as store, atomic_output(out_path) as temporary:
        with h5py.File(temporary, "w") as handle:
            handle.attrs.update(root_attributes(
                FORMAT, stored(params), {Path(events_path).name: sha256_file(events_path)},
                sensor_size=list(store.sensor_size), class_names=json.dumps(store.class_names)))
            for split in store.splits:
                group = handle.create_group(split)
                graphs = GraphSplitWriter(group, params, threads)
                boxes = RaggedWriter(group, {f"box_{c}": (np.float32, (0,), 0) for c in BOX_COLUMNS}, "box_offsets")
                samples, skipped = _split_samples(store, split, params)
                for k, (index, window, events) in enumerate(tqdm(samples, desc=f"detection graphs {split}",
                                                                 disable=not progress, mininterval=2)):
                    try:
                        graphs.add(events, split, k)
                    except ValueError as error:
                        raise SampleError(f"{events_path}: {split} recording {_source_ids(store, split)[index]} "
                                          f"window labelled at {window.label_t} µs: {error}") from error
                    boxes.add(**{f"box_{c}": window.boxes["class_id" if c == "class" else c] for c in BOX_COLUMNS})
                graphs.close()
                boxes.close()
                group.create_dataset("recording", data=np.array([s[0] for s in samples], np.int32))
                group.create_dataset("label_t", data=np.array([s[1].label_t for s in samples], np.int64))
                group.create_dataset("recording_id", data=_source_ids(store, split), dtype=h5py.string_dtype())
                group.attrs["skipped"] = skipped
                counts[split] = len(samples)
                if skipped:
                    log.info("%s: %d windows with fewer than %d events give no sample", split, skipped,
                             max(params.min_events, 1))
    return counts


class DetectionGraphStore(SampleCacheReader):
    """Read access to a detection graph store; one sample at a time."""

    FORMAT = FORMAT
    PARAMS = staticmethod(versioned_params(DetectionGraphParams))

    def __init__(self, path: str | Path):
        super().__init__(path)
        self._offsets = {}

    def num_samples(self, split: str) -> int:
        return self.handle[split]["label_t"].shape[0]

    def _index(self, split: str):
        if split not in self._offsets:
            group = self.handle[split]
            self._offsets[split] = tuple(group[name][:] for name in ("node_offsets", "edge_offsets", "box_offsets"))
        return self._offsets[split]

    def recordings(self, split: str) -> list[str]:
        """The recording id of every sample of a split."""
        group = self.handle[split]
        ids = [value.decode() for value in group["recording_id"][:]]
        return [ids[index] for index in group["recording"][:]]

    def split_boxes(self, split: str):
        """Every true box of a split, as ``BOX_DTYPE`` (times left 0)."""
        group = self.handle[split]
        return boxes_from_rows(np.stack([group[f"box_{k}"][:] for k in BOX_COLUMNS], axis=1))

    def sample(self, split: str, index: int) -> dict:
        """``pos``, ``x``, ``edge_index`` (sample-local), ``boxes`` (K×5: x, y, w, h, class), ``label_t`` and the
        recording's id of one sample."""
        nodes, edges, boxes = self._index(split)
        a, b = nodes[index : index + 2]
        c, d = edges[index : index + 2]
        e, f = boxes[index : index + 2]
        group = self.handle[split]
        return {"pos": group["pos"][a:b], "x": group["x"][a:b], "edge_index": group["edge_index"][:, c:d],
                "boxes": np.stack([group[f"box_{k}"][e:f] for k in BOX_COLUMNS], axis=1),
                "label_t": int(group["label_t"][index]),
                "recording": group["recording_id"][int(group["recording"][index])].decode()}
