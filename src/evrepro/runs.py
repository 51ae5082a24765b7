"""Resolve a run entry of the config into the exact parameters its stages use (no torch, no tensorflow)."""

import json
from dataclasses import replace
from pathlib import Path

import yaml

from evrepro.fileio import atomic_output, params_hash
from evrepro.graphs.preprocess import PRESETS as GRAPH_PRESETS
from evrepro.graphs.preprocess import GraphParams
from evrepro.streams.preprocess import PRESETS as STREAM_PRESETS
from evrepro.streams.preprocess import StreamParams


def aegnn_graph_params(run: dict) -> GraphParams:
    """The graph-cache parameters of an AEGNN run: its preset with the run's overrides."""
    block = dict(run["preprocessing"])
    return replace(GRAPH_PRESETS[block.pop("preset")], **block)


def graph_cache_id(params: GraphParams) -> str:
    """``{prep}`` in results/graphs/{dataset}/{prep}.h5: a hash of the preprocessing parameters."""
    return params_hash(params.as_dict())


def ecn_stream_params(run: dict) -> StreamParams:
    """The stream-cache parameters of an ECN run: its preset with the run's overrides."""
    block = dict(run["preprocessing"])
    return replace(STREAM_PRESETS[block.pop("preset")], **block)


def stream_cache_id(params: StreamParams) -> str:
    """``{prep}`` in results/streams/{dataset}/{prep}.h5: a hash of the preprocessing parameters."""
    return params_hash(params.as_dict())


def write_resolved_config(run_dir, **sections) -> None:
    """A run × seed's config.yaml (run, model, dataset, seed, preprocessing, network, training), atomically."""
    resolved = json.loads(json.dumps(sections))  # plain lists and numbers for YAML
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    with atomic_output(Path(run_dir) / "config.yaml") as temporary:
        temporary.write_text(yaml.safe_dump(resolved, sort_keys=False))
