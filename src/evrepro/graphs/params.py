"""AEGNN's graph-cache parameters and their presets: parameters only, without scipy, so that parsing the workflow
(which names and hashes caches from them) never loads the code that builds graphs (``evrepro.graphs.preprocess``)."""

from dataclasses import asdict, dataclass


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
