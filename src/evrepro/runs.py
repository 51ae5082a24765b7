"""Resolve a run entry of the config into the exact parameters its stages use (no torch, no tensorflow)."""

from dataclasses import replace

from evrepro.fileio import params_hash
from evrepro.graphs.preprocess import PRESETS as GRAPH_PRESETS
from evrepro.graphs.preprocess import GraphParams


def aegnn_graph_params(run: dict) -> GraphParams:
    """The graph-cache parameters of an AEGNN run: its preset with the run's overrides."""
    block = dict(run["preprocessing"])
    return replace(GRAPH_PRESETS[block.pop("preset")], **block)


def graph_cache_id(params: GraphParams) -> str:
    """``{prep}`` in results/graphs/{dataset}/{prep}.h5: a hash of the preprocessing parameters."""
    return params_hash(params.as_dict())
