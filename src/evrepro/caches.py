"""Resolve a run entry of the config into the exact parameters its stages use (no torch, no tensorflow)."""

from evrepro import layout
from evrepro.families import family
from evrepro.storage.fileio import params_hash
from evrepro.storage.stored_names import stored


def cache_params(run: dict):
    """The parameters of the cache a run trains on: its family's preset with the run's overrides."""
    return family(run["family"]).cache_params(run["preprocessing"])


def cache_id(params) -> str:
    """``{prep}`` in a cache's path: a hash of its preprocessing parameters (their stored form)."""
    return params_hash(stored(params))


def cache_path(run: dict) -> str:
    """The cache a run trains on: layout.CACHE of its family's kind (AEGNN's graphs, ECN's streams)."""
    return layout.fill(layout.CACHE, kind=family(run["family"]).cache_kind, dataset=run["dataset"],
                       prep=cache_id(cache_params(run)))
