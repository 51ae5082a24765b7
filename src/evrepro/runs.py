"""Resolve a run entry of the config into the exact parameters its stages use (no torch, no tensorflow)."""

from dataclasses import replace

from evrepro import layout
from evrepro.fileio import params_hash
from evrepro.graphs.params import PRESETS as GRAPH_PRESETS
from evrepro.graphs.params import GraphParams
from evrepro.streams.params import PRESETS as STREAM_PRESETS
from evrepro.streams.params import StreamParams


def aegnn_graph_params(run: dict) -> GraphParams:
    """The graph-cache parameters of an AEGNN run: its preset with the run's overrides."""
    block = dict(run["preprocessing"])
    return replace(GRAPH_PRESETS[block.pop("preset")], **block)


def ecn_stream_params(run: dict) -> StreamParams:
    """The stream-cache parameters of an ECN run: its preset with the run's overrides."""
    block = dict(run["preprocessing"])
    return replace(STREAM_PRESETS[block.pop("preset")], **block)


def cache_params(run: dict) -> GraphParams | StreamParams:
    """The parameters of the cache a run trains on: AEGNN's graphs or ECN's streams."""
    return aegnn_graph_params(run) if run["model"] == "aegnn" else ecn_stream_params(run)


def cache_id(params: GraphParams | StreamParams) -> str:
    """``{prep}`` in a cache's path: a hash of its preprocessing parameters."""
    return params_hash(params.as_dict())


def cache_path(run: dict) -> str:
    """The cache a run trains on: layout.GRAPHS (AEGNN) or layout.STREAMS (ECN)."""
    template = layout.GRAPHS if run["model"] == "aegnn" else layout.STREAMS
    return layout.fill(template, dataset=run["dataset"], prep=cache_id(cache_params(run)))
