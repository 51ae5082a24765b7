"""Run records with known values, for the tests of the tables that read them."""

import math

from evrepro.training.record import (ASYNC_FORMAT, AsyncResult, Convention, Exactness, Latencies, Latency, LayerFlops,
                                     ScoreCurve, Speedup)


def async_result(mflops: float, latency_ms: float) -> AsyncResult:
    """An async.json with known FLOPs (evrepro's convention ×1, DAGr's ×2, AEGNN's protocol ×3) and latency."""
    conventions = {name: Convention(100.0 * factor, mflops * factor, f"{name} in words")
                   for name, factor in (("evrepro", 1), ("dagr_last_event", 2), ("aegnn_paper_protocol", 3))}
    latency = Latencies(Latency(latency_ms, latency_ms, 10), Latency(9.0, 9.0, 2), "cpu", 1, "in words")
    return AsyncResult(
        format=ASYNC_FORMAT, flop_definition="in words", split="test", streams=2, stream_indices=[0, 1], events=10,
        graph={}, conventions=conventions, layers={"conv1": LayerFlops(100.0, mflops, math.log10(100.0 / mflops))},
        latency_ms_per_event=latency, speedup=Speedup(100.0 / mflops, 9.0 / latency_ms, 9.0 / latency_ms),
        max_abs_difference=Exactness(0.0, 0.0, 2, "in words"),
        score_vs_events=ScoreCurve([1, 10], "accuracy", [0.5, 0.9], [2, 2], "in words"))
