"""Radius graphs: evrepro's ``radius_graph`` beside torch_cluster's, and the graph-cache build rate, at the papers'
sizes.

Per preset (N-CARS: 10,000 of 30,000 events on 120×100 over 100 ms, r 3, cap 32; N-Caltech101: 25,000 of 100,000 on
240×180 over 300 ms, r 5, cap 32), one synthetic stream (uniform over the sensor, sorted in time) is subsampled and
normalised as the graph cache does, and the radius graph of those float32 positions is timed, best of 7, the
libraries taking turns: evrepro with one thread and with all of numba's, torch_cluster (when importable; its CPU
search of one graph is serial) on the same tensor. Agreement: without a cap the edge sets must be equal (both join
pairs strictly within r); with the cap, the share of edges only one side keeps, since torch_cluster keeps the first
candidates its tree returns and evrepro the nearest. Graph-cache rate: samples/s of ``event_graph`` (subsampling,
time normalisation, radius graph), per thread count.

Run: .venv/bin/python bench/bench_radius.py   ->  results/bench/radius.json
The reference needs torch-cluster, built from source by bench/reference-venv.sh (then run this script with
.venv-reference/bin/python); without it only evrepro is measured.
"""

import importlib.metadata
import importlib.util
import json
import platform
import time
from pathlib import Path

import numba
import numpy as np
from paper_streams import PAPER_STREAMS, synthetic_stream

from evrepro.graphs.params import PRESETS
from evrepro.graphs.preprocess import event_graph
from evrepro.graphs.radius import radius_graph

OUT = Path("results/bench/radius.json")
REPEATS = 7
HAS_TORCH_CLUSTER = importlib.util.find_spec("torch_cluster") is not None


def best_ms(functions: dict) -> dict:
    """Shortest of ``REPEATS`` calls of each function in milliseconds, the functions called in turn."""
    best = dict.fromkeys(functions, float("inf"))
    for _ in range(REPEATS):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            best[name] = min(best[name], 1000 * (time.perf_counter() - start))
    return best


def edge_keys(edges, n: int) -> np.ndarray:
    """Edges (2, E) as sorted keys target·n + source."""
    return np.sort(np.asarray(edges[1], np.int64) * n + np.asarray(edges[0], np.int64))


def only_in(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the edge keys of ``a`` missing from ``b``."""
    return float(np.setdiff1d(a, b, assume_unique=True).size / max(a.size, 1))


def torch_cluster_graph(pos: np.ndarray):
    """``radius_graph(r, cap)`` of torch_cluster on ``pos`` as a float32 tensor, returning edges (2, E)."""
    import torch
    from torch_cluster import radius_graph as cluster_radius_graph

    tensor = torch.from_numpy(pos)
    return lambda r, cap: cluster_radius_graph(tensor, r=r, max_num_neighbors=cap, loop=False).numpy()


def measure(preset: str, thread_counts: list[int]) -> dict:
    params = PRESETS[preset]
    stream = synthetic_stream(preset)
    pos, _, _ = event_graph(stream, params, np.random.default_rng(0))
    n, r, cap = len(pos), params.radius, params.max_neighbors
    functions = {f"evrepro_{k}": (lambda k=k: radius_graph(pos, r, cap, threads=k)) for k in thread_counts}
    ours = edge_keys(radius_graph(pos, r, cap), n)
    result = {"nodes": n, "radius": r, "max_neighbors": cap, "edges": int(ours.size)}
    if HAS_TORCH_CLUSTER:
        theirs = torch_cluster_graph(pos)
        functions["torch_cluster"] = lambda: theirs(r, cap)
        uncapped_ours, uncapped_theirs = edge_keys(radius_graph(pos, r, n), n), edge_keys(theirs(r, n), n)
        capped = edge_keys(theirs(r, cap), n)
        result["agreement"] = {
            "uncapped_edges": int(uncapped_ours.size),
            "uncapped_equal": bool(np.array_equal(uncapped_ours, uncapped_theirs)),
            "capped_torch_cluster_edges": int(capped.size),
            "capped_share_only_evrepro": only_in(ours, capped),
            "capped_share_only_torch_cluster": only_in(capped, ours)}
    times = best_ms(functions)
    result["evrepro_ms"] = {str(k): times[f"evrepro_{k}"] for k in thread_counts}
    if HAS_TORCH_CLUSTER:
        result["torch_cluster_ms"] = times["torch_cluster"]
        result["ratio_evrepro_to_torch_cluster"] = {str(k): times[f"evrepro_{k}"] / times["torch_cluster"]
                                                    for k in thread_counts}
    cache = best_ms({k: (lambda k=k: event_graph(stream, params, np.random.default_rng(0), threads=k))
                     for k in thread_counts})
    result["graph_cache_samples_per_s"] = {str(k): 1000 / cache[k] for k in thread_counts}
    return result


def main() -> dict:
    thread_counts = sorted({1, numba.config.NUMBA_NUM_THREADS})
    radius_graph(np.zeros((2, 3), np.float32), 1.0, 1)  # numba's compilation (or cache load), not timed
    libraries = ["numpy", "numba"] + (["torch", "torch_cluster"] if HAS_TORCH_CLUSTER else [])
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
                    "numba_threads": numba.config.NUMBA_NUM_THREADS},
        "versions": {name: importlib.metadata.version(name.replace("_", "-")) for name in libraries},
        "thread_counts": thread_counts,
        "presets": {preset: measure(preset, thread_counts) for preset in PAPER_STREAMS},
    }
    if not HAS_TORCH_CLUSTER:
        result["torch_cluster"] = "not importable: only evrepro's numbers"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
