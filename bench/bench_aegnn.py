"""AEGNN benchmark: graph-cache build rate, SplineConv forward+backward time, training throughput.

Run: .venv/bin/python bench/bench_aegnn.py   ->  results/bench/aegnn.json
Streams are synthetic (uniform in space, sorted in time) with the sizes of the papers' datasets.
"""

import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from evrepro.aegnn.graph_res import GraphRes
from evrepro.aegnn.presets import GraphResConfig
from evrepro.aegnn.spline_conv import SplineConv, cartesian_pseudo, spline_graph
from evrepro.events import make_events
from evrepro.graphs.params import PRESETS
from evrepro.graphs.preprocess import event_graph

OUT = Path("results/bench/aegnn.json")
STREAMS = {  # preset: (sensor width, height, events in a raw sample, duration µs)
    "ncars": (120, 100, 30_000, 100_000),
    "ncaltech101": (240, 180, 100_000, 300_000),
}


def synthetic_stream(width, height, n, duration, seed=0):
    rng = np.random.default_rng(seed)
    return make_events(np.sort(rng.integers(0, duration, n)), rng.integers(0, width, n), rng.integers(0, height, n),
                       rng.integers(0, 2, n))


def timed(function, repeats=3):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def bench_graph_cache():
    result = {}
    for preset, (width, height, n, duration) in STREAMS.items():
        stream = synthetic_stream(width, height, n, duration)
        params = PRESETS[preset]
        seconds = timed(lambda: event_graph(stream, params, np.random.default_rng(0)))
        _, _, edges = event_graph(stream, params, np.random.default_rng(0))
        result[preset] = {"nodes": params.n_samples, "edges": int(edges.shape[1]), "samples_per_s": 1 / seconds}
    return result


def bench_spline_conv():
    result = {}
    for preset, kernel, channels in (("ncars", 2, 16), ("ncaltech101", 8, 32)):
        width, height, n, duration = STREAMS[preset]
        pos, x, edges = event_graph(synthetic_stream(width, height, n, duration), PRESETS[preset],
                                    np.random.default_rng(0))
        pos, edges = torch.from_numpy(pos), torch.from_numpy(edges.astype(np.int64))
        features = torch.randn(pos.shape[0], channels, requires_grad=True)
        conv = SplineConv(channels, channels, 3, kernel)
        pseudo = cartesian_pseudo(pos, edges, PRESETS[preset].radius)

        def step():  # the adjacency included, as a convolution on a new graph needs it
            out = conv(features, conv.prepare(edges, pseudo, pos.shape[0]))
            out.sum().backward()

        build = timed(lambda: spline_graph(edges, pseudo, pos.shape[0], kernel))
        result[preset] = {"nodes": pos.shape[0], "edges": int(edges.shape[1]), "channels": channels,
                          "kernel_size": kernel, "adjacency_build_ms": 1000 * build,
                          "forward_backward_ms": 1000 * timed(step)}
    return result


def bench_training(batch_size=16, batches=10):
    """Training samples/s of the default digits configuration on synthetic 34×34 streams."""
    graphs = [event_graph(synthetic_stream(34, 34, 4500, 300_000, seed), PRESETS["digits"], np.random.default_rng(0))
              for seed in range(batch_size)]
    x = torch.from_numpy(np.concatenate([g[1] for g in graphs]))
    pos = torch.from_numpy(np.concatenate([g[0] for g in graphs]))
    offsets = np.cumsum([0] + [len(g[0]) for g in graphs[:-1]])
    edges = torch.from_numpy(np.concatenate([g[2] + o for g, o in zip(graphs, offsets)], axis=1).astype(np.int64))
    batch = torch.repeat_interleave(torch.arange(batch_size), torch.tensor([len(g[0]) for g in graphs]))
    model = GraphRes(GraphResConfig(num_classes=10, sensor_size=(34, 34), edge_scale=3.0, pool_voxel=(8.0, 8.0)))
    optimizer = torch.optim.Adam(model.parameters())
    labels = torch.arange(batch_size) % 10

    def step():
        loss = torch.nn.functional.cross_entropy(model(x, pos, edges, batch, batch_size), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()
    seconds = timed(lambda: [step() for _ in range(batches)], repeats=1)
    return {"batch_size": batch_size, "nodes_per_sample": PRESETS["digits"].n_samples,
            "samples_per_s": batch_size * batches / seconds}


def main() -> dict:
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                    "torch": torch.__version__},
        "graph_cache": bench_graph_cache(),
        "spline_conv": bench_spline_conv(),
        "training": bench_training(),
        "comparison": "torch_cluster / torch-spline-conv are not installable from PyPI here; not timed",
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
