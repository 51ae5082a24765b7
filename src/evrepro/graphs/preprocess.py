"""AEGNN preprocessing of one sample: random subsampling, time normalisation, capped radius graph.

Time enters the graph in an explicit unit: ``t' = (t - t_first) * beta_per_us`` with t in µs, where
t_first is the first kept event. (The original applied its beta to seconds for N-Caltech101, which
collapsed the time axis to about 1e-6 and made the graph two-dimensional.) Kept events stay in time
order. Node features are the polarity as -1/+1; node positions are (x, y, t') as float32, and the
radius graph is built on exactly those float32 values, so it can be rebuilt from the cache.
"""

from dataclasses import asdict, dataclass

import numpy as np

from evrepro.events.array import first_decrease
from evrepro.graphs.radius import radius_graph


@dataclass(frozen=True)
class GraphParams:
    """Preprocessing parameters; the run config's ``preprocessing`` block maps onto these."""

    n_samples: int
    radius: float
    max_neighbors: int
    beta_per_us: float
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


# The papers' presets, and ours for the embedded digits (34×34, ~4,450 events over ~300 ms).
PRESETS = {
    "ncars": GraphParams(n_samples=10_000, radius=3.0, max_neighbors=32, beta_per_us=0.5e-5),
    "ncaltech101": GraphParams(n_samples=25_000, radius=5.0, max_neighbors=32, beta_per_us=0.5e-5),
    "gen1": GraphParams(n_samples=25_000, radius=3.0, max_neighbors=128, beta_per_us=0.5e-5),
    "digits": GraphParams(n_samples=500, radius=3.0, max_neighbors=16, beta_per_us=3e-5),
}


def subsample(n_events: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``min(n_samples, n_events)`` distinct events, in increasing (time) order."""
    if n_events <= n_samples:
        return np.arange(n_events)
    return np.sort(rng.choice(n_events, size=n_samples, replace=False))


def sample_rng(params: GraphParams, split: str, index: int) -> np.random.Generator:
    """The subsampling generator of one sample: independent of every other sample."""
    return np.random.default_rng([params.seed, sum(map(ord, split)), index])


def event_graph(events: np.ndarray, params: GraphParams, rng: np.random.Generator):
    """(pos float32 N×3, x float32 N×1, edge_index int32 2×E) of one time-sorted event sample."""
    if decrease := first_decrease(events["t"]):
        raise ValueError(f"events are not sorted by time: event {decrease[0]} has t={events['t'][decrease[0]]} "
                         f"after t={events['t'][decrease[0] - 1]} (the events store sorts every recording)")
    kept = events[subsample(events.size, params.n_samples, rng)]
    t = kept["t"].astype(np.float64)
    t_norm = (t - t[0]) * params.beta_per_us if kept.size else t
    pos = np.stack([kept["x"], kept["y"], t_norm], axis=1).astype(np.float32)
    features = (2.0 * kept["p"] - 1.0).astype(np.float32)[:, None]
    edges = radius_graph(pos, params.radius, params.max_neighbors).astype(np.int32)
    return pos, features, edges
