"""AEGNN's own FLOP protocol (uzh-rpg/aegnn@d96e13b ``evaluation/flops.py``, as documented): an untrained GraphRes
on 2-D positions with (10, 10) pooling, one update after a dense pass on the stream's other events, the new event's
neighbours not counted at conv1. A detector is counted the same way, with its own head."""

from dataclasses import replace

import numpy as np
import torch

from evrepro.aegnn import flops
from evrepro.aegnn.asynchronous import AsyncGraphRes
from evrepro.aegnn.detector import GraphResDetector
from evrepro.aegnn.graph_res import GraphRes

PAPER_PROTOCOL_POOL = (10.0, 10.0)  # AEGNN's evaluation/flops.py builds its GraphRes with pooling (10, 10)


def protocol_model(model: GraphRes) -> GraphRes:
    """An untrained model of the same kind and widths, on 2-D positions with the protocol's pooling."""
    torch.manual_seed(0)  # an untrained model: FLOPs depend on the graph and the layer widths only
    changes = {"dim": 2, "pool_voxel": PAPER_PROTOCOL_POOL}
    if isinstance(model, GraphResDetector):
        config = model.detector_config
        return GraphResDetector(replace(config, backbone=replace(config.backbone, **changes)))
    return GraphRes(replace(model.config, **changes))


def paper_protocol_costs(model: GraphRes, stream: dict, radius: float, cap: int, device) -> dict:
    """Per layer, the asynchronous and dense FLOPs of one stream under CONVENTIONS["aegnn_paper_protocol"]."""
    untrained = protocol_model(model).to(device).eval()
    pos = np.array(stream["pos"], dtype=np.float32)
    pos[:, 2] = 0.0  # 2-D positions: the radius graph in (x, y)
    engine = AsyncGraphRes(untrained, radius, cap)
    engine.initialise(pos[:-1], stream["x"][:-1])
    engine.step(pos[-1], stream["x"][-1])
    incoming = engine.graph.in_edges(np.array([len(pos) - 1]))[0].size
    config = untrained.config
    c = config.channels
    new_node_only = flops.spline_block(1, incoming, c[0], c[1], 2, config.root_weight, config.bias)
    return {"async": {**engine.last_flops, "conv1": new_node_only}, "dense": engine.dense_flops()}
