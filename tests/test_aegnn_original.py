"""GraphRes with ``network.compat`` set to the original's three behaviours equals AEGNN's original network
(uzh-rpg/aegnn@d96e13b, run unmodified with PyG's compiled extensions: tests/data/reference/aegnn_original/README.md)
layer by layer and in its logits, on three cases: a real N-CARS sample, the same shifted by (5, 3), and with biases
and root weights. Without them the two part after the voxel pool, where each behaviour comes in."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from evrepro.aegnn.graph_res import GraphRes
from evrepro.aegnn.presets import GRID_CELLS, NETWORK_COMPAT, GraphResConfig

GOLDENS = Path(__file__).parent / "data" / "reference" / "aegnn_original"
CASES = ["aegnn_golden", "aegnn_golden_shift5_3", "aegnn_golden_bias_root"]
LAYERS = ["conv1", "conv2", "conv3", "conv4", "conv5", "pool5", "conv6", "conv7", "pool7", "head"]
TOLERANCE = 2e-5  # of each layer's largest magnitude; the goldens' README measured 5.7e-6


def golden(case: str) -> tuple[dict, dict]:
    with np.load(GOLDENS / f"{case}.npz") as arrays:
        return {key: torch.from_numpy(arrays[key]) for key in arrays.files}, json.loads(
            (GOLDENS / f"{case}.json").read_text())


def original_network(arrays: dict, meta: dict, compat: tuple[str, ...]) -> GraphRes:
    """evrepro's GraphRes with the golden's configuration and the original's weights, in eval mode."""
    config = meta["config"]
    width, height, _ = config["input_shape"]
    model = GraphRes(GraphResConfig(
        num_classes=config["num_outputs"], sensor_size=(width, height), edge_scale=3.0,
        kernel_size=config["kernel_size"], channels=tuple(config["channels_used"]),
        pool_voxel=tuple(float(v) for v in config["pooling_size"]), root_weight=config["root_weight"],
        bias=config["bias"], fc_bias="state_dict.fc.bias" in arrays, compat=compat))
    assert tuple(config["pool7_voxel"]) == (width / GRID_CELLS, height / GRID_CELLS)
    state = {}
    for i in range(7):
        theirs = f"state_dict.conv{i + 1}"
        state[f"convs.{i}.weight"] = arrays[f"{theirs}.weight"]
        if config["root_weight"]:
            state[f"convs.{i}.root"] = arrays[f"{theirs}.lin.weight"].t()
        if config["bias"]:
            state[f"convs.{i}.bias"] = arrays[f"{theirs}.bias"]
        for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            state[f"norms.{i}.{name}"] = arrays[f"state_dict.norm{i + 1}.module.{name}"]
    state["head.weight"] = arrays["state_dict.fc.weight"]
    if "state_dict.fc.bias" in arrays:
        state["head.bias"] = arrays["state_dict.fc.bias"]
    model.load_state_dict(state)
    return model.eval()


def layers_of(model: GraphRes, arrays: dict) -> dict:
    with torch.no_grad():
        _, layers = model(arrays["input.x"], arrays["input.pos"], arrays["input.edge_index"], arrays["input.batch"],
                          1, return_layers=True)
    return layers


def difference(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    """Largest difference over the largest magnitude (inf when the shapes differ)."""
    if ours.shape != theirs.shape:
        return float("inf")
    return float((ours - theirs).abs().max() / theirs.abs().max().clamp_min(1e-12))


@pytest.mark.parametrize("case", CASES)
def test_compat_original_equals_the_original_network_layer_by_layer(case):
    torch.set_num_threads(1)
    arrays, meta = golden(case)
    layers = layers_of(original_network(arrays, meta, NETWORK_COMPAT), arrays)
    for name in LAYERS:
        assert difference(layers[name], arrays[f"layer.{name}"]) < TOLERANCE, (case, name)
    assert difference(layers["head"], arrays["logits"]) < TOLERANCE


@pytest.mark.parametrize("case", CASES)
def test_evrepro_s_fixes_part_from_the_original_only_where_they_come_in(case):
    torch.set_num_threads(1)
    arrays, meta = golden(case)
    fixed = layers_of(original_network(arrays, meta, ()), arrays)
    for name in LAYERS[:5]:  # the same network up to the voxel pool
        assert difference(fixed[name], arrays[f"layer.{name}"]) < TOLERANCE, (case, name)
    assert difference(fixed["head"], arrays["logits"]) > 1e-2  # the three fixes change the output
    for behaviour in NETWORK_COMPAT:  # each one alone is not enough to give the original's logits
        alone = layers_of(original_network(arrays, meta, (behaviour,)), arrays)
        assert difference(alone["head"], arrays["logits"]) > 1e-3, (case, behaviour)


def test_compat_is_checked_and_left_out_of_the_identity_of_runs_without_it():
    config = GraphResConfig(num_classes=2, sensor_size=(120, 100), edge_scale=3.0)
    assert "compat" not in config.as_dict()  # trainings made before the switch keep their identity
    with_compat = GraphResConfig(num_classes=2, sensor_size=(120, 100), edge_scale=3.0, compat=("data_origin",))
    assert GraphResConfig.from_dict(with_compat.as_dict()) == with_compat
    with pytest.raises(ValueError, match="network.compat: origin is none of pooled_edge_scale, data_origin"):
        GraphResConfig(num_classes=2, sensor_size=(120, 100), edge_scale=3.0, compat=("origin",))


def test_the_asynchronous_engine_refuses_a_model_with_the_original_s_behaviours():
    from evrepro.aegnn.asynchronous.engine import AsyncGraphRes

    arrays, meta = golden(CASES[0])
    with pytest.raises(ValueError, match="reproduces the original's data_origin"):
        AsyncGraphRes(original_network(arrays, meta, ("data_origin",)), 3.0, 32)
