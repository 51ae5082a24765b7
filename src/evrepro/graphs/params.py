"""AEGNN's graph-cache parameters and their presets: parameters only, without numba, so that parsing the workflow
(which names and hashes caches from them) never loads the code that builds graphs (``evrepro.graphs.preprocess``)."""

from dataclasses import dataclass
from typing import ClassVar

from evrepro.compat import Compat

# Version of the graph computation (subsampling, time normalisation, the radius graph's rule). It is a field of
# GraphParams, so it is part of every graph cache's id (``evrepro.caches.cache_id`` hashes its stored form) and of the
# params the cache stores: a cache computed by another rule is rebuilt, never reused. Bump it whenever the same
# parameters would give different graphs. History:
#   1  neighbours within r inclusively (d² <= r²). (Caches written then do not record a version; ``GraphStore``
#      reads them as 1.)
#   2  strictly (d² < r·r), as torch_cluster's radius_graph (tests/data/reference/pyg_goldens.npz).
GRAPH_ALGORITHM = 2
# The original's preprocessing behaviours a graph cache can reproduce (``preprocessing.compat``; docs/fidelity.md),
# each a fix evrepro makes (uzh-rpg/aegnn@d96e13b aegnn/datasets/ncaltech101.py ``load`` and ``pre_transform``):
# time_in_seconds: β applied to times in seconds (N-Caltech101's loader divides by 1e6; N-Cars converted to seconds
#   alike), which flattens the graph to (x, y);
# median_window: N-Caltech101's "window of highest increase" cut, whose 50 ms in µs is taken from times in seconds:
#   it keeps the events before the one preceding the median event's time (about the first half).
GRAPH_COMPAT = ("time_in_seconds", "median_window")


@dataclass(frozen=True)
class GraphParams(Compat):
    """Preprocessing parameters; the run config's ``preprocessing`` block maps onto these (all but ``algorithm``,
    which is the code's: ``GRAPH_ALGORITHM``)."""

    events_per_sample: int  # events kept per sample (one recording): a seeded random subset in time order
    radius: float
    max_neighbors: int
    beta_per_us: float
    subsample_seed: int = 0
    algorithm: int = GRAPH_ALGORITHM
    compat: tuple[str, ...] = ()  # the original's behaviours to reproduce (GRAPH_COMPAT); none: evrepro's fixes

    # renamed fields keep their first names in caches' attributes, ids and training records (storage.stored_names)
    STORED_NAMES: ClassVar[dict] = {"events_per_sample": "n_samples", "subsample_seed": "seed"}
    COMPAT, COMPAT_KEY = GRAPH_COMPAT, "preprocessing.compat"


# The papers' presets, and ours for the embedded digits (34×34, ~4,450 events over ~300 ms).
PRESETS = {
    "ncars": GraphParams(events_per_sample=10_000, radius=3.0, max_neighbors=32, beta_per_us=0.5e-5),
    "ncaltech101": GraphParams(events_per_sample=25_000, radius=5.0, max_neighbors=32, beta_per_us=0.5e-5),
    "gen1": GraphParams(events_per_sample=25_000, radius=3.0, max_neighbors=128, beta_per_us=0.5e-5),
    "digits": GraphParams(events_per_sample=500, radius=3.0, max_neighbors=16, beta_per_us=3e-5),
}
