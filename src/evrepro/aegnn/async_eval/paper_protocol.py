"""AEGNN's own FLOP protocol (uzh-rpg/aegnn@d96e13b ``evaluation/flops.py``, as documented): an untrained GraphRes
on 2-D positions with (10, 10) pooling, one update after a dense pass on the stream's other events, the new event's
neighbours not counted at conv1."""

from dataclasses import replace

import numpy as np
import torch

from evrepro.aegnn import flops
from evrepro.aegnn.asynchronous import AsyncGraphRes
from evrepro.aegnn.graph_res import GraphRes
from evrepro.aegnn.presets import GraphResConfig

PAPER_PROTOCOL_POOL = (10.0, 10.0)  # AEGNN's evaluation/flops.py builds its GraphRes with pooling (10, 10)


def paper_protocol_costs(config: GraphResConfig, stream: dict, radius: float, cap: int, device) -> dict:
    """Per layer, the asynchronous and dense FLOPs of one stream under CONVENTIONS["aegnn_paper_protocol"]."""
    torch.manual_seed(0)  # an untrained model: FLOPs depend on the graph and the layer widths only
    model = GraphRes(replace(config, dim=2, pool_voxel=PAPER_PROTOCOL_POOL)).to(device).eval()
    pos = np.array(stream["pos"], dtype=np.float32)
    pos[:, 2] = 0.0  # 2-D positions: the radius graph in (x, y)
    engine = AsyncGraphRes(model, radius, cap)
    engine.initialise(pos[:-1], stream["x"][:-1])
    engine.step(pos[-1], stream["x"][-1])
    incoming = engine.graph.in_edges(np.array([len(pos) - 1]))[0].size
    c = config.channels
    new_node_only = flops.spline_block(1, incoming, c[0], c[1], 2, config.root_weight, config.bias)
    return {"async": {**engine.last_flops, "conv1": new_node_only}, "dense": engine.dense_flops()}
