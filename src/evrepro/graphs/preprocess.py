"""AEGNN preprocessing of one sample: random subsampling, time normalisation, capped radius graph.

Time enters the graph in an explicit unit: ``t' = (t - t_first) * beta_per_us`` with t in µs, where
t_first is the first kept event. (The original applied its beta to seconds for N-Caltech101, which
collapsed the time axis to about 1e-6 and made the graph two-dimensional; ``compat: [time_in_seconds]`` does the
same, and ``median_window`` cuts each recording as the original's N-Caltech101 did: ``GRAPH_COMPAT``.) Kept events
stay in time order. Node features are the polarity as -1/+1; node positions are (x, y, t') as float32, and the
radius graph is built on exactly those float32 values, so it can be rebuilt from the cache.
"""

import numpy as np

from evrepro.events.array import first_decrease
from evrepro.graphs.params import GRAPH_ALGORITHM, GraphParams
from evrepro.graphs.radius import radius_graph
from evrepro.storage.sample_cache import require_algorithm

US_PER_S = 1e6


def subsample(n_events: int, keep: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``min(keep, n_events)`` distinct events, in increasing (time) order."""
    if n_events <= keep:
        return np.arange(n_events)
    return np.sort(rng.choice(n_events, size=keep, replace=False))


def median_window_stop(t: np.ndarray) -> int:
    """How many events the original's N-Caltech101 cut keeps of a time-sorted recording: its window should end at
    the median event's time and start 50 ms earlier, but the 50 ms are µs subtracted from seconds, so it starts at
    the first event; its end is the index before the median time's first event (``searchsorted - 1``, clamped)."""
    if t.size == 0:
        return 0
    return int(np.clip(np.searchsorted(t, t[t.size // 2], side="left") - 1, 0, t.size - 1))


def time_scale(params: GraphParams) -> float:
    """t' per µs: β, or β per second where the original's time in seconds is reproduced (``time_in_seconds``)."""
    return params.beta_per_us / US_PER_S if "time_in_seconds" in params.compat else params.beta_per_us


def sample_rng(params: GraphParams, split: str, index: int) -> np.random.Generator:
    """The subsampling generator of one sample: independent of every other sample."""
    return np.random.default_rng([params.subsample_seed, sum(map(ord, split)), index])


def event_graph(events: np.ndarray, params: GraphParams, rng: np.random.Generator, threads: int = 1):
    """(pos float32 N×3, x float32 N×1, edge_index int32 2×E) of one time-sorted event sample; ``threads``
    threads search the radius graph."""
    require_algorithm(params, GRAPH_ALGORITHM, "graph")
    if decrease := first_decrease(events["t"]):
        raise ValueError(f"events are not sorted by time: event {decrease[0]} has t={events['t'][decrease[0]]} "
                         f"after t={events['t'][decrease[0] - 1]} (the events store sorts every recording)")
    if "median_window" in params.compat:
        events = events[:median_window_stop(events["t"])]
    kept = events[subsample(events.size, params.events_per_sample, rng)]
    t = kept["t"].astype(np.float64)
    t_norm = (t - t[0]) * time_scale(params) if kept.size else t
    pos = np.stack([kept["x"], kept["y"], t_norm], axis=1).astype(np.float32)
    features = (2.0 * kept["p"] - 1.0).astype(np.float32)[:, None]
    edges = radius_graph(pos, params.radius, params.max_neighbors, threads).astype(np.int32)
    return pos, features, edges
