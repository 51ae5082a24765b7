"""Synthetic event streams of the papers' sample sizes, for the AEGNN benchmarks: uniform over the sensor, sorted in
time (imported by the bench scripts, which run with ``bench/`` on their path)."""

import numpy as np

from evrepro.events import make_events

# preset: (sensor width, height, events in a raw sample, duration µs, classes)
PAPER_STREAMS = {
    "ncars": (120, 100, 30_000, 100_000, 2),
    "ncaltech101": (240, 180, 100_000, 300_000, 101),
    "gen1": (304, 240, 100_000, 100_000, 2),  # a 100 ms detection window (cars, pedestrians)
}


def synthetic_stream(preset: str, seed: int = 0) -> np.ndarray:
    """One raw sample of ``preset``'s size as an event array."""
    width, height, n, duration, _ = PAPER_STREAMS[preset]
    rng = np.random.default_rng(seed)
    return make_events(np.sort(rng.integers(0, duration, n)), rng.integers(0, width, n), rng.integers(0, height, n),
                       rng.integers(0, 2, n))
