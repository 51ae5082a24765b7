"""Event-by-event evaluation of a trained GraphRes: FLOPs, latency and exactness, dense vs asynchronous.

``evaluate_async`` runs the asynchronous engine over a fixed subset of the test streams of a graph
cache and writes ``async.json`` (and ``accuracy_vs_events.csv``):

- FLOPs per event (``evrepro.aegnn.flops``), per layer and in all: dense = one full pass on the graph
  of all events so far, asynchronous = what the engine recomputed for the event; means over all
  events of the streams processed;
- latency per event: the engine's step against a dense recomputation (radius graph of the prefix
  plus a full forward pass), the latter timed at a sample of event counts (every ``check_every``-th
  and the last) because it is slow; on CUDA, timings are bracketed by ``torch.cuda.synchronize``;
- the largest difference between the engine and the dense model, logits and every layer, at those
  same event counts;
- accuracy as a function of the number of events seen, over every test stream, from the dense model
  on prefixes: the engine gives the same outputs, as the difference check verifies.
"""

import json
import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from evrepro.aegnn import flops
from evrepro.aegnn.asynchronous import AsyncGraphRes
from evrepro.aegnn.data import GraphStoreDataset
from evrepro.aegnn.evaluate import load_best
from evrepro.aegnn.graph_res import GraphRes
from evrepro.aegnn.loop import device_name
from evrepro.aegnn.presets import LAYERS, GraphResConfig
from evrepro.graphs.radius import radius_graph
from evrepro.graphs.store import GraphStore
from evrepro.storage.fileio import atomic_output

WARMUP_EVENTS = 20
PAPER_PROTOCOL_POOL = (10.0, 10.0)  # AEGNN's evaluation/flops.py builds its GraphRes with pooling (10, 10)
CONVENTIONS = {
    "evrepro": "evrepro's pinned definition (flop_definition): every recomputed node counted, the new event's "
               "neighbours included; mean over every event of every stream processed (mflops_per_event above)",
    "dagr_last_event": "the cost of adding the last event of each stream (its graph complete), mean over streams; "
                       "dense = one full pass on that whole graph",
    "aegnn_paper_protocol": "AEGNN's evaluation/flops.py as documented: a fresh, untrained GraphRes with 2-D "
                            "positions (t' dropped: dim 2, 2-D radius graph) and pooling (10, 10); a dense pass on "
                            "the stream's first n - 1 events, then one update with its last; at conv1 only the new "
                            "node is counted (its neighbours are updated but not counted); mean over streams",
}


class Clock:
    """Wall time of a block on a device: CUDA work is waited for before reading the clock."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"

    def now(self) -> float:
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter()


def dense_pass(model, pos: np.ndarray, x: np.ndarray, radius: float, max_neighbors: int, device):
    """Dense recomputation on a prefix: its radius graph, then the full forward; (logits, layers)."""
    edges = radius_graph(pos, radius, max_neighbors)
    with torch.inference_mode():
        return model(torch.from_numpy(x).to(device), torch.from_numpy(pos).to(device),
                     torch.from_numpy(edges).to(device), torch.zeros(len(pos), dtype=torch.long, device=device), 1,
                     return_layers=True)


def largest_difference(engine: AsyncGraphRes, layers: dict) -> tuple[float, float]:
    """(logits, any layer): largest absolute difference between the engine and a dense pass."""
    mine = engine.layers()
    differences = {name: float((mine[name] - value).abs().max()) if value.numel() else 0.0
                   for name, value in layers.items()}
    return differences["head"], max(differences.values())


def event_counts(n_samples: int, first: int = 25) -> list[int]:
    """25, 50, 100, ... doubling below ``n_samples``, then ``n_samples``."""
    counts = [first * 2**i for i in range(int(math.log2(max(n_samples / first, 1))) + 1)]
    return sorted({c for c in counts if c < n_samples} | {n_samples})


def accuracy_vs_events(model, store: GraphStore, split: str, counts: list[int], device, batch_size: int = 64):
    """Accuracy of the dense model on the first n events of every stream of a split, for each n in ``counts``."""
    streams = [store.sample(split, i) for i in range(store.num_samples(split))]
    radius, max_neighbors = store.params.radius, store.params.max_neighbors
    labels = np.array([s["label"] for s in streams])
    accuracy = []
    for count in counts:
        predicted = []
        for start in range(0, len(streams), batch_size):
            chunk = [(s["pos"][:count], s["x"][:count]) for s in streams[start : start + batch_size]]
            sizes = [len(pos) for pos, _ in chunk]
            offsets = np.cumsum([0] + sizes[:-1])
            edges = np.concatenate([radius_graph(pos, radius, max_neighbors) + o
                                    for (pos, _), o in zip(chunk, offsets)],
                                   axis=1)
            batch = torch.repeat_interleave(torch.arange(len(chunk)), torch.tensor(sizes))
            with torch.inference_mode():
                logits = model(torch.from_numpy(np.concatenate([x for _, x in chunk])).to(device),
                               torch.from_numpy(np.concatenate([pos for pos, _ in chunk])).to(device),
                               torch.from_numpy(edges).to(device), batch.to(device), len(chunk))
            predicted.append(logits.argmax(1).cpu().numpy())
        accuracy.append(float(np.mean(np.concatenate(predicted) == labels)))
    return accuracy, len(streams)


def _summary(values) -> dict:
    values = np.asarray(values, dtype=np.float64)
    return {"mean": float(values.mean()), "median": float(np.median(values))}


def _log_ratio(dense: float, asynchronous: float) -> float | None:
    return math.log10(dense / asynchronous) if asynchronous > 0 and dense > 0 else None


class Measurements:
    """Per-event FLOPs and latencies of the engine, dense timings and the largest async-vs-dense differences."""

    def __init__(self):
        self.dense_flops = {name: 0 for name in LAYERS}
        self.async_flops = {name: 0 for name in LAYERS}
        self.async_ms, self.dense_ms = [], []
        self.worst_logits = self.worst_layers = 0.0
        self.checks = self.events = 0
        self.last_event = {"async": [], "dense": []}  # per stream: FLOPs of adding its last event
        self.paper_protocol = {"async": [], "dense": []}  # per stream: AEGNN's evaluation/flops.py protocol

    def stream(self, model, stream: dict, radius: float, cap: int, device, clock: Clock, check_every: int) -> None:
        """Run one stream through a fresh engine event by event, checking it against the dense model."""
        pos, x = stream["pos"], stream["x"]
        engine = AsyncGraphRes(model, radius, cap)
        for k in range(len(pos)):
            began = clock.now()
            engine.step(pos[k], x[k])
            self.async_ms.append(1000 * (clock.now() - began))
            for name, value in engine.last_flops.items():
                self.async_flops[name] += value
            for name, value in engine.dense_flops().items():
                self.dense_flops[name] += value
            if (k + 1) % check_every == 0 or k == len(pos) - 1:
                began = clock.now()
                _, layers = dense_pass(model, pos[: k + 1], x[: k + 1], radius, cap, device)
                self.dense_ms.append(1000 * (clock.now() - began))
                logits_difference, layers_difference = largest_difference(engine, layers)
                self.worst_logits = max(self.worst_logits, logits_difference)
                self.worst_layers = max(self.worst_layers, layers_difference)
                self.checks += 1
        self.events += len(pos)
        self.last_event["async"].append(sum(engine.last_flops.values()))
        self.last_event["dense"].append(sum(engine.dense_flops().values()))

    def paper_protocol_stream(self, config: GraphResConfig, stream: dict, radius: float, cap: int, device) -> None:
        """Add one stream's FLOPs under AEGNN's protocol (``paper_protocol_costs``)."""
        costs = paper_protocol_costs(config, stream, radius, cap, device)
        self.paper_protocol["async"].append(sum(costs["async"].values()))
        self.paper_protocol["dense"].append(sum(costs["dense"].values()))


def paper_protocol_costs(config: GraphResConfig, stream: dict, radius: float, cap: int, device) -> dict:
    """Per layer, the asynchronous and dense FLOPs of one stream under CONVENTIONS["aegnn_paper_protocol"]."""
    torch.manual_seed(0)  # an untrained model: FLOPs depend on the graph and the layer widths only
    model = GraphRes(replace(config, dim=2, pool_voxel=PAPER_PROTOCOL_POOL)).to(device).eval()
    pos = np.array(stream["pos"], dtype=np.float32)
    pos[:, 2] = 0.0  # 2-D positions: the radius graph in (x, y)
    engine = AsyncGraphRes(model, radius, cap)
    engine.initialise(pos[:-1], stream["x"][:-1])
    engine.step(pos[-1], stream["x"][-1])
    incoming = engine.graph.in_edges(np.array([len(pos) - 1]))[0].size
    c = config.channels
    new_node_only = flops.spline_block(1, incoming, c[0], c[1], 2, config.root_weight, config.bias)
    return {"async": {**engine.last_flops, "conv1": new_node_only}, "dense": engine.dense_flops()}


def _result(m: Measurements, params, split: str, subset, check_every: int, device, counts, accuracy,
            samples) -> dict:
    """async.json's content."""
    dense_total, async_total = sum(m.dense_flops.values()) / m.events, sum(m.async_flops.values()) / m.events
    latency = {"async": {**_summary(m.async_ms), "samples": len(m.async_ms)},
               "dense": {**_summary(m.dense_ms), "samples": len(m.dense_ms)}}
    every = f"every {check_every}th event count and the last of each stream"
    return {
        "flop_definition": flops.DEFINITION,
        "split": split,
        "streams": len(subset),
        "stream_indices": [int(i) for i in subset],
        "events": m.events,
        "graph": {"radius": params.radius, "max_neighbors": params.max_neighbors, "n_samples": params.n_samples},
        "mflops_per_event": {"dense": dense_total / 1e6, "async": async_total / 1e6},
        "layers": {name: {"dense_mflops_per_event": m.dense_flops[name] / m.events / 1e6,
                          "async_mflops_per_event": m.async_flops[name] / m.events / 1e6,
                          "log10_dense_over_async": _log_ratio(m.dense_flops[name], m.async_flops[name])}
                   for name in LAYERS},
        "latency_ms_per_event": {**latency, "device": device_name(device), "threads": torch.get_num_threads(),
                                 "dense_timing": f"radius graph of the prefix + full forward, timed at {every}"},
        "speedup": {"flops": dense_total / async_total,
                    "latency_mean": latency["dense"]["mean"] / latency["async"]["mean"],
                    "latency_median": latency["dense"]["median"] / latency["async"]["median"]},
        "max_abs_difference": {"logits": m.worst_logits, "any_layer": m.worst_layers, "checks": m.checks,
                               "checked_at": every},
        "conventions": {
            "evrepro": {"description": CONVENTIONS["evrepro"], "mflops_per_event": {"dense": dense_total / 1e6,
                                                                                 "async": async_total / 1e6}},
            **{name: {"description": CONVENTIONS[name],
                      "mflops_per_event": {kind: float(np.mean(values)) / 1e6 for kind, values in per_stream.items()}}
               for name, per_stream in (("dagr_last_event", m.last_event),
                                        ("aegnn_paper_protocol", m.paper_protocol))},
        },
        "accuracy_vs_events": {
            "events": counts, "accuracy": accuracy, "samples": samples,
            "method": "dense model on the first n events of every stream of the split; the asynchronous engine "
                      "gives the same outputs after n events, up to max_abs_difference (checked above)"},
    }


def evaluate_async(cache_path, best_path, model_json, result_path, accuracy_path, *, max_streams: int = 8,
                   device: str = "auto", check_every: int = 50, split: str = "test",
                   threads: int | None = None) -> dict:
    """Asynchronous evaluation of a run's best model: ``result_path`` (async.json), ``accuracy_path`` (CSV).

    ``threads`` sets torch's CPU threads for the process (the engine's per-event work is small: one
    thread is usually fastest, and the dense pass is timed under the same setting).
    """
    model, _ = load_best(cache_path, best_path, json.loads(Path(model_json).read_text()), threads, device)
    device = next(model.parameters()).device
    clock = Clock(device)
    subset = GraphStoreDataset(cache_path, split, limit=max_streams).subset
    with GraphStore(cache_path) as store:
        params = store.params
        streams = [store.sample(split, int(i)) for i in subset]
        engine = AsyncGraphRes(model, params.radius, params.max_neighbors)  # warm-up, not measured
        for k in range(min(WARMUP_EVENTS, len(streams[0]["pos"]))):
            engine.step(streams[0]["pos"][k], streams[0]["x"][k])
        dense_pass(model, streams[0]["pos"], streams[0]["x"], params.radius, params.max_neighbors, device)
        measured = Measurements()
        for stream in streams:
            measured.stream(model, stream, params.radius, params.max_neighbors, device, clock, check_every)
            measured.paper_protocol_stream(model.config, stream, params.radius, params.max_neighbors, device)
        counts = event_counts(params.n_samples)
        accuracy, samples = accuracy_vs_events(model, store, split, counts, device)
    result = _result(measured, params, split, subset, check_every, device, counts, accuracy, samples)
    with atomic_output(accuracy_path) as temporary:
        pd.DataFrame({"events": counts, "accuracy": accuracy, "samples": samples}).to_csv(temporary, index=False)
    with atomic_output(result_path) as temporary:
        temporary.write_text(json.dumps(result, indent=2))
    return result
