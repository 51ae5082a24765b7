"""The graph store ``results/graphs/{dataset}/{prep}.h5`` and its builder.

Per split: ``pos`` (float32 N×3), ``x`` (float32 N×1), ``node_offsets``, ``edge_index`` (int32 2×E,
sample-local), ``edge_offsets``, ``label``. ``{prep}`` is the hash of the preprocessing parameters, the
graph algorithm's version (``GraphParams.algorithm``) included, so a changed radius or rule makes a new file,
never a stale one.
"""

from pathlib import Path

import numpy as np

from evrepro.graphs.params import GRAPH_ALGORITHM, GraphParams
from evrepro.graphs.preprocess import event_graph, sample_rng
from evrepro.storage.ragged import RaggedWriter
from evrepro.storage.sample_cache import SampleCacheReader, build_sample_cache, require_algorithm, versioned_params
from evrepro.storage.stored_names import stored

FORMAT = "evrepro.graphs/1"


class GraphSplitWriter:
    """Writes each sample's graph (``event_graph``) to a split group of a graph store."""

    def __init__(self, group, params: GraphParams, threads: int):
        self.params, self.threads = params, threads
        self.nodes = RaggedWriter(group, {"pos": (np.float32, (0, 3), 0), "x": (np.float32, (0, 1), 0)},
                                  "node_offsets", chunk=1 << 13)
        self.edges = RaggedWriter(group, {"edge_index": (np.int32, (2, 0), 1)}, "edge_offsets", chunk=1 << 14)

    def add(self, events, split: str, index: int) -> None:
        pos, x, edge_index = event_graph(events, self.params, sample_rng(self.params, split, index), self.threads)
        self.nodes.add(pos=pos, x=x)
        self.edges.add(edge_index=edge_index)

    def close(self) -> None:
        self.nodes.close()
        self.edges.close()


def build_graph_store(events_path: str | Path, out_path: str | Path, params: GraphParams,
                      progress: bool = True, threads: int = 1) -> dict[str, int]:
    """Preprocess every sample of an events store into a graph store, atomically, the radius graphs searched
    with ``threads`` threads (the job's)."""
    require_algorithm(params, GRAPH_ALGORITHM, "graph")
    return build_sample_cache(events_path, out_path, FORMAT, stored(params),
                              lambda group, events: GraphSplitWriter(group, params, threads), desc="graphs",
                              progress=progress)


stored_params = versioned_params(GraphParams)


class GraphStore(SampleCacheReader):
    """Read access to a graph store; one sample at a time, without loading its split."""

    FORMAT = FORMAT
    PARAMS = staticmethod(stored_params)

    def __init__(self, path: str | Path):
        super().__init__(path)
        self._offsets = {}

    def _index(self, split: str):
        if split not in self._offsets:
            group = self.handle[split]
            self._offsets[split] = (group["node_offsets"][:], group["edge_offsets"][:])
        return self._offsets[split]

    def sample(self, split: str, index: int) -> dict[str, np.ndarray]:
        """``pos``, ``x``, ``edge_index`` (sample-local) and ``label`` of one sample."""
        node_offsets, edge_offsets = self._index(split)
        a, b = node_offsets[index : index + 2]
        c, d = edge_offsets[index : index + 2]
        group = self.handle[split]
        return {"pos": group["pos"][a:b], "x": group["x"][a:b], "edge_index": group["edge_index"][:, c:d],
                "label": int(group["label"][index])}
