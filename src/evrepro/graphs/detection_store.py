"""The detection graph store ``results/detection_graphs/{dataset}/{prep}.h5``: one graph per window of a recordings
store (``evrepro.detection.windows``), with the window's true boxes.

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

from evrepro.datasets.recordings_store import RecordingsStore
from evrepro.detection.windows import windows
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


def _split_samples(store: RecordingsStore, split: str, params: DetectionGraphParams):
    """(recording index, window, events) of every window of a split with enough events, and how many had too few."""
    skipped = 0
    samples = []
    for index in range(len(store.recording_ids(split))):
        for window in windows(store.boxes(split, index), params.windows):
            events = store.window(split, index, window.start, window.stop)
            if events.size < max(params.min_events, 1):
                skipped += 1
                continue
            samples.append((index, window, events))
    return samples, skipped


def build_detection_graph_store(recordings_path, out_path, params: DetectionGraphParams, progress: bool = True,
                                threads: int = 1) -> dict[str, int]:
    """Preprocess every window of a recordings store into a detection graph store, atomically; samples per split."""
    require_algorithm(params, GRAPH_ALGORITHM, "graph")
    counts = {}
    with RecordingsStore(recordings_path) as store, atomic_output(out_path) as temporary:
        with h5py.File(temporary, "w") as handle:
            handle.attrs.update(root_attributes(
                FORMAT, stored(params), {Path(recordings_path).name: sha256_file(recordings_path)},
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
                        raise SampleError(f"{recordings_path}: {split} recording {store.recording_ids(split)[index]} "
                                          f"window labelled at {window.label_t} µs: {error}") from error
                    boxes.add(**{f"box_{c}": window.boxes["class_id" if c == "class" else c] for c in BOX_COLUMNS})
                graphs.close()
                boxes.close()
                group.create_dataset("recording", data=np.array([s[0] for s in samples], np.int32))
                group.create_dataset("label_t", data=np.array([s[1].label_t for s in samples], np.int64))
                group.create_dataset("recording_id", data=store.recording_ids(split), dtype=h5py.string_dtype())
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
