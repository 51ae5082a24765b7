"""Asynchronous vs dense GraphRes per event: FLOPs and latency at the papers' stream lengths.

Run: .venv/bin/python bench/bench_async.py [--device cuda] [--dims 3 2]  ->  results/bench/async.json
Configurations: N-CARS (kernel 2 layers, radius 3, cap 32, 10,000 events, 120×100), N-Caltech101
(kernel 8 layers, radius 5, cap 32, 25,000 events, 240×180) and the Gen1 detector (N-Caltech101's layers and
the 8×6 grid head, radius 3, cap 128, 25,000 events of a 100 ms window, 304×240), voxel pool (16, 12), random
weights and BatchNorm statistics. Streams are synthetic (uniform in space, sorted in time) and go through the graph
cache's preprocessing. The engine is initialised densely on all but the last ``TIMED`` events, then
times each of them; the dense recomputation (radius graph of the prefix + full forward) is timed
``DENSE_REPEATS`` times on the full stream. FLOPs follow ``evrepro.aegnn.flops`` (per event, exact).
"""

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from paper_streams import PAPER_STREAMS, synthetic_stream

from evrepro.aegnn import flops
from evrepro.aegnn.async_eval.dense import dense_pass, largest_difference
from evrepro.aegnn.async_eval.timing import Clock
from evrepro.aegnn.asynchronous import AsyncGraphRes
from evrepro.aegnn.detector import GraphResDetector, yolo_grid
from evrepro.aegnn.graph_res import GraphRes
from evrepro.aegnn.loop import pick_device
from evrepro.aegnn.presets import LAYERS, PRESET_LAYERS, DetectorConfig, GraphResConfig
from evrepro.graphs.detection_params import PRESETS as DETECTION_PRESETS
from evrepro.graphs.params import PRESETS as GRAPH_PRESETS
from evrepro.graphs.preprocess import event_graph

PRESETS = {**GRAPH_PRESETS, "gen1": DETECTION_PRESETS["gen1"]}
LAYER_PRESET = {"ncars": "ncars", "ncaltech101": "ncaltech101", "gen1": "ncaltech101"}  # as config/paper.yaml

OUT = Path("results/bench/async.json")
TIMED = 20
DENSE_REPEATS = 3


def stream_nodes(preset: str, seed: int = 0):
    """(pos, x) of the preset's graph on a synthetic stream of the paper's size."""
    pos, x, _ = event_graph(synthetic_stream(preset, seed), PRESETS[preset], np.random.default_rng(seed))
    return pos, x


def random_model(preset: str, dim: int, device) -> GraphRes:
    """GraphRes of the preset's layers (Gen1: the detector with its grid head), random BatchNorm statistics."""
    width, height, _, _, classes = PAPER_STREAMS[preset]
    layers = PRESET_LAYERS[LAYER_PRESET[preset]]
    torch.manual_seed(0)
    config = GraphResConfig(num_classes=classes, sensor_size=(width, height), edge_scale=PRESETS[preset].radius,
                            dim=dim, kernel_size=layers["kernel_size"], channels=tuple(layers["channels"]))
    if preset == "gen1":
        detector = DetectorConfig(backbone=config, num_classes=classes)
        model = GraphResDetector(replace(detector, backbone=replace(config, num_classes=yolo_grid(detector).outputs)))
    else:
        model = GraphRes(config)
    with torch.no_grad():
        for norm in model.norms:
            norm.running_mean.uniform_(-1.0, 1.0)
            norm.running_var.uniform_(0.2, 3.0)
    return model.to(device).eval()


def mean_mflops(rows: list[dict], name: str) -> float:
    return float(np.mean([row[name] for row in rows])) / 1e6


def bench(preset: str, dim: int, device) -> dict:
    params = PRESETS[preset]
    pos, x = stream_nodes(preset)
    model = random_model(preset, dim, device)
    clock = Clock(device)
    n, start = len(pos), len(pos) - TIMED

    engine = AsyncGraphRes(model, params.radius, params.max_neighbors)
    began = clock.now()
    engine.initialise(pos[:start], x[:start])
    initialise_s = clock.now() - began
    async_ms, async_flops, dense_flops = [], [], []
    for k in range(start, n):
        began = clock.now()
        engine.step(pos[k], x[k])
        async_ms.append(1000 * (clock.now() - began))
        async_flops.append(engine.last_flops)
        dense_flops.append(engine.dense_flops())

    dense_ms = []
    for _ in range(DENSE_REPEATS):
        began = clock.now()
        _, layers = dense_pass(model, pos, x, params.radius, params.max_neighbors, device)
        dense_ms.append(1000 * (clock.now() - began))
    logits_difference, layers_difference = largest_difference(engine, layers)

    dense_total = float(np.mean([sum(row.values()) for row in dense_flops])) / 1e6
    async_total = float(np.mean([sum(row.values()) for row in async_flops])) / 1e6
    return {
        "preset": preset, "dim": dim, "kernel_size": model.config.kernel_size, "channels": model.config.channels,
        "events": n, "radius": params.radius, "max_neighbors": params.max_neighbors,
        "sensor": PAPER_STREAMS[preset][:2], "pool_voxel": model.config.pool_voxel,
        "edges": engine.graph.num_edges, "coarse_nodes": engine.pooled.size, "coarse_edges": engine.pooled.num_edges,
        "timed_events": TIMED, "initialise_s": initialise_s,
        "mflops_per_event": {"dense": dense_total, "async": async_total, "ratio": dense_total / async_total},
        "layers_mflops_per_event": {name: {"dense": mean_mflops(dense_flops, name),
                                           "async": mean_mflops(async_flops, name)} for name in LAYERS},
        "latency_ms_per_event": {"async_mean": float(np.mean(async_ms)), "async_median": float(np.median(async_ms)),
                                 "dense_mean": float(np.mean(dense_ms)), "dense_median": float(np.median(dense_ms)),
                                 "ratio_median": float(np.median(dense_ms) / np.median(async_ms))},
        "max_abs_difference": {"logits": logits_difference, "any_layer": layers_difference},
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "gpu"])
    parser.add_argument("--dims", type=int, nargs="+", default=[3, 2])
    parser.add_argument("--presets", nargs="+", default=list(PAPER_STREAMS))
    args = parser.parse_args()
    device = pick_device(args.device)
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                    "torch": torch.__version__, "device": str(device),
                    "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None},
        "flop_definition": flops.DEFINITION,
        "runs": [],
    }
    for preset in args.presets:
        for dim in args.dims:
            began = time.perf_counter()
            run = bench(preset, dim, device)
            run["bench_wall_s"] = time.perf_counter() - began
            print(json.dumps(run), flush=True)
            result["runs"].append(run)
    out = OUT if device.type == "cpu" else OUT.with_name(f"async_{device.type}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
