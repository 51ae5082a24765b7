"""The graph store ``results/graphs/{dataset}/{prep}.h5`` and its builder.

Per split: ``pos`` (float32 N×3), ``x`` (float32 N×1), ``node_offsets``, ``edge_index`` (int32 2×E,
sample-local), ``edge_offsets``, ``label``. ``{prep}`` is the hash of the preprocessing parameters, so
a changed radius makes a new file, never a stale one.
"""

import json
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from evrepro.datasets.store import EventsStore
from evrepro.fileio import atomic_output, sha256_file
from evrepro.h5meta import open_store, root_attributes
from evrepro.graphs.preprocess import GraphParams, event_graph, sample_rng
from evrepro.ragged import RaggedWriter

FORMAT = "evrepro.graphs/1"


def build_graph_store(events_path: str | Path, out_path: str | Path, params: GraphParams,
                      progress: bool = True) -> dict[str, int]:
    """Preprocess every sample of an events store into a graph store, atomically."""
    counts = {}
    with EventsStore(events_path) as events, atomic_output(out_path) as temporary:
        with h5py.File(temporary, "w") as handle:
            handle.attrs.update(root_attributes(
                FORMAT, params.as_dict(), {Path(events_path).name: sha256_file(events_path)},
                sensor_size=np.asarray(events.sensor_size), class_names=json.dumps(events.class_names)))
            for split in events.splits:
                group = handle.create_group(split)
                nodes = RaggedWriter(group, {"pos": (np.float32, (0, 3), 0), "x": (np.float32, (0, 1), 0)},
                                     "node_offsets", chunk=1 << 13)
                edges = RaggedWriter(group, {"edge_index": (np.int32, (2, 0), 1)}, "edge_offsets", chunk=1 << 14)
                n = events.num_samples(split)
                for i in tqdm(range(n), desc=f"graphs {split}", disable=not progress, mininterval=2):
                    pos, x, edge_index = event_graph(events.sample(split, i), params, sample_rng(params, split, i))
                    nodes.add(pos=pos, x=x)
                    edges.add(edge_index=edge_index)
                nodes.close()
                edges.close()
                group.create_dataset("label", data=events.labels(split))
                counts[split] = n
    return counts


class GraphStore:
    """Read access to a graph store; one sample at a time, without loading its split."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.handle = open_store(self.path, FORMAT)
        self.params = GraphParams(**json.loads(self.handle.attrs["params"]))
        self.sensor_size = tuple(int(v) for v in self.handle.attrs["sensor_size"])
        self.class_names = json.loads(self.handle.attrs["class_names"])
        self._cache = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.handle.close()

    def _index(self, split: str):
        if split not in self._cache:
            group = self.handle[split]
            self._cache[split] = (group["node_offsets"][:], group["edge_offsets"][:], group["label"][:])
        return self._cache[split]

    @property
    def splits(self) -> list[str]:
        return [s for s in ("train", "val", "test") if s in self.handle] + sorted(
            s for s in self.handle if s not in ("train", "val", "test"))

    def num_samples(self, split: str) -> int:
        return self._index(split)[2].size

    def labels(self, split: str) -> np.ndarray:
        return self._index(split)[2]

    def sample(self, split: str, index: int) -> dict[str, np.ndarray]:
        """``pos``, ``x``, ``edge_index`` (sample-local) and ``label`` of one sample."""
        node_offsets, edge_offsets, labels = self._index(split)
        a, b = node_offsets[index : index + 2]
        c, d = edge_offsets[index : index + 2]
        group = self.handle[split]
        return {"pos": group["pos"][a:b], "x": group["x"][a:b], "edge_index": group["edge_index"][:, c:d],
                "label": int(labels[index])}
