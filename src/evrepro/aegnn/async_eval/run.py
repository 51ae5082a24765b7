"""The asynchronous evaluation of a run's best model, written to async.json
(its shape: ``evrepro.training.record.AsyncResult``)."""

import math

import numpy as np
import pandas as pd
import torch

from evrepro.aegnn import flops
from evrepro.aegnn.async_eval.dense import dense_pass, event_counts, score_vs_events
from evrepro.aegnn.async_eval.measure import Measurements
from evrepro.aegnn.async_eval.timing import Clock
from evrepro.aegnn.asynchronous import AsyncGraphRes
from evrepro.aegnn.evaluate import load_best
from evrepro.aegnn.loop import device_name
from evrepro.aegnn.presets import LAYERS
from evrepro.aegnn.tasks import task_of
from evrepro.storage.fileio import atomic_output
from evrepro.training.record import (ASYNC_FORMAT, AsyncResult, Convention, Exactness, Latencies, Latency, LayerFlops,
                                     ModelRecord, ScoreCurve, Speedup, read_record, write_record)

WARMUP_EVENTS = 20
CONVENTIONS = {
    "evrepro": "evrepro's pinned definition (flop_definition): every recomputed node counted, the new event's "
               "neighbours included; mean over every event of every stream processed",
    "dagr_last_event": "the cost of adding the last event of each stream (its graph complete), mean over streams; "
                       "dense = one full pass on that whole graph",
    "aegnn_paper_protocol": "AEGNN's evaluation/flops.py as documented: a fresh, untrained GraphRes with 2-D "
                            "positions (t' dropped: dim 2, 2-D radius graph) and pooling (10, 10); a dense pass on "
                            "the stream's first n - 1 events, then one update with its last; at conv1 only the new "
                            "node is counted (its neighbours are updated but not counted); mean over streams",
}


def _latency(values) -> Latency:
    values = np.asarray(values, dtype=np.float64)
    return Latency(mean=float(values.mean()), median=float(np.median(values)), samples=int(values.size))


def _log_ratio(dense: float, asynchronous: float) -> float | None:
    return math.log10(dense / asynchronous) if asynchronous > 0 and dense > 0 else None


def _result(m: Measurements, params, split: str, subset, check_every: int, device, curve: ScoreCurve) -> AsyncResult:
    """async.json's content."""
    dense_total, async_total = sum(m.dense_flops.values()) / m.events, sum(m.async_flops.values()) / m.events
    asynchronous, dense = _latency(m.async_ms), _latency(m.dense_ms)
    every = f"every {check_every}th event count and the last of each stream"
    per_stream = {"dagr_last_event": m.last_event, "aegnn_paper_protocol": m.paper_protocol}
    return AsyncResult(
        format=ASYNC_FORMAT,
        flop_definition=flops.DEFINITION,
        split=split,
        streams=len(subset),
        stream_indices=[int(i) for i in subset],
        events=m.events,
        graph={"radius": params.radius, "max_neighbors": params.max_neighbors,
               "events_per_sample": params.events_per_sample},
        conventions={
            "evrepro": Convention(dense_total / 1e6, async_total / 1e6, CONVENTIONS["evrepro"]),
            **{name: Convention(float(np.mean(costs["dense"])) / 1e6, float(np.mean(costs["async"])) / 1e6,
                                CONVENTIONS[name]) for name, costs in per_stream.items()},
        },
        layers={name: LayerFlops(m.dense_flops[name] / m.events / 1e6, m.async_flops[name] / m.events / 1e6,
                                 _log_ratio(m.dense_flops[name], m.async_flops[name])) for name in LAYERS},
        latency_ms_per_event=Latencies(asynchronous, dense, device_name(device), torch.get_num_threads(),
                                       f"radius graph of the prefix + full forward, timed at {every}"),
        speedup=Speedup(flops=dense_total / async_total, latency_mean=dense.mean / asynchronous.mean,
                        latency_median=dense.median / asynchronous.median),
        max_abs_difference=Exactness(m.worst_logits, m.worst_layers, m.checks, every),
        score_vs_events=curve,
    )


def evaluate_async(cache_path, best_path, model_json, result_path, score_path, *, max_streams: int = 8,
                   device: str = "auto", check_every: int = 50, split: str = "test",
                   threads: int | None = None) -> AsyncResult:
    """Asynchronous evaluation of a run's best model (a classifier or a detector): ``result_path`` (async.json),
    ``score_path`` (the test score after n events, CSV).

    ``threads`` sets torch's CPU threads for the process (the engine's per-event work is small: one
    thread is usually fastest, and the dense pass is timed under the same setting).
    """
    model, _ = load_best(cache_path, best_path, read_record(ModelRecord, model_json), threads, device)
    device = next(model.parameters()).device
    clock, task = Clock(device), task_of(model)
    dataset = task.dataset(cache_path, split, limit=max_streams)
    with dataset.STORE(cache_path) as store:
        params = store.params
        streams = [store.sample(split, int(i)) for i in dataset.subset]
        engine = AsyncGraphRes(model, params.radius, params.max_neighbors)  # warm-up, not measured
        for k in range(min(WARMUP_EVENTS, len(streams[0]["pos"]))):
            engine.step(streams[0]["pos"][k], streams[0]["x"][k])
        dense_pass(model, streams[0]["pos"], streams[0]["x"], params.radius, params.max_neighbors, device)
        measured = Measurements()
        for stream in streams:
            measured.stream(model, stream, params.radius, params.max_neighbors, device, clock, check_every)
            measured.paper_protocol_stream(model, stream, params.radius, params.max_neighbors, device)
    counts = event_counts(params.events_per_sample)
    scores, samples = score_vs_events(model, task, cache_path, split, counts, params.radius, params.max_neighbors,
                                      device)
    curve = ScoreCurve(counts, task.test_metric, scores, samples,
                       f"dense model on the first n events of every sample of the split, scored by {task.test_metric};"
                       " the asynchronous engine gives the same outputs after n events, up to max_abs_difference "
                       "(checked above)")
    result = _result(measured, params, split, dataset.subset, check_every, device, curve)
    with atomic_output(score_path) as temporary:
        pd.DataFrame({"events": counts, "metric": task.test_metric, "score": scores, "samples": samples}).to_csv(
            temporary, index=False)
    write_record(result_path, result)
    return result
