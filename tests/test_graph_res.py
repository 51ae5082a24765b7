"""GraphRes: parameter counts in closed form, pooling on fixed grids, batch independence."""

import pytest
import torch

from evrepro.aegnn.graph_res import GraphRes, grid_max_pool, voxel_max_pool
from evrepro.aegnn.presets import PRESET_LAYERS, GraphResConfig, parameter_counts


def config(preset, dim, classes, sensor, bias=True, root=True, fc_bias=True):
    layers = PRESET_LAYERS[preset]
    return GraphResConfig(num_classes=classes, sensor_size=sensor, edge_scale=3.0, dim=dim,
                          kernel_size=layers["kernel_size"], channels=tuple(layers["channels"]),
                          root_weight=root, bias=bias, fc_bias=fc_bias)


# Parameter counts of uzh-rpg/aegnn's GraphRes in the paper's two configurations, from its layer shapes.
@pytest.mark.parametrize("preset, dim, classes, sensor, bias, expected", [
    ("ncars", 2, 2, (120, 100), False, 14_160),
    ("ncars", 2, 2, (120, 100), True, 17_522),
    ("ncars", 3, 2, (120, 100), False, 26_992),
    ("ncars", 3, 2, (120, 100), True, 30_354),
    ("ncaltech101", 2, 101, (240, 180), False, 2_732_000),
    ("ncaltech101", 2, 101, (240, 180), True, 2_772_037),
])
def test_parameter_count_matches_the_closed_form_and_the_reference(preset, dim, classes, sensor, bias, expected):
    cfg = config(preset, dim, classes, sensor, bias=bias, root=bias, fc_bias=bias)
    model = GraphRes(cfg)
    counts = parameter_counts(cfg)
    assert sum(p.numel() for p in model.parameters()) == counts["trainable"] == expected
    statistics = sum(b.numel() for name, b in model.named_buffers() if name.endswith(("running_mean", "running_var")))
    assert counts["non_trainable"] == statistics


def test_large_configuration_is_counted_without_building_it():
    assert parameter_counts(config("ncaltech101", 3, 101, (240, 180), bias=False, root=False,
                                   fc_bias=False))["trainable"] == 20_401_120


def test_voxel_pool_uses_a_fixed_origin_and_keeps_graphs_apart():
    x = torch.tensor([[1.0], [5.0], [2.0], [7.0]])
    pos = torch.tensor([[1.0, 1.0, 0.0], [3.0, 3.0, 1.0], [9.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    edge_index = torch.tensor([[0, 1, 2, 0], [1, 2, 0, 3]])
    batch = torch.tensor([0, 0, 0, 1])
    px, ppos, pedges, pbatch = voxel_max_pool(x, pos, edge_index, batch, (8.0, 8.0), (16, 16))
    assert px.squeeze(1).tolist() == [5.0, 2.0, 7.0]  # nodes 0 and 1 share voxel (0, 0) of graph 0
    torch.testing.assert_close(ppos[0], torch.tensor([2.0, 2.0, 0.5]))
    assert pbatch.tolist() == [0, 0, 1]
    assert sorted(map(tuple, pedges.t().tolist())) == [(0, 1), (0, 2), (1, 0)]
    # shifting every point moves nothing across voxels unless it crosses a fixed boundary
    px2, *_ = voxel_max_pool(x, pos + torch.tensor([0.5, 0.5, 0.0]), edge_index, batch, (8.0, 8.0), (16, 16))
    torch.testing.assert_close(px2, px)


def test_grid_pool_fills_empty_cells_with_zero():
    x = torch.tensor([[1.0, -2.0], [3.0, 4.0]])
    pos = torch.tensor([[0.0, 0.0], [33.0, 33.0]])
    out = grid_max_pool(x, pos, torch.tensor([0, 0]), 1, (34, 34)).view(16, 2)
    assert out[0].tolist() == [1.0, -2.0] and out[15].tolist() == [3.0, 4.0]
    assert out[1:15].abs().sum() == 0


def test_a_sample_gets_the_same_logits_alone_or_in_a_batch():
    torch.manual_seed(0)
    cfg = GraphResConfig(num_classes=10, sensor_size=(34, 34), edge_scale=3.0, pool_voxel=(8.0, 8.0))
    model = GraphRes(cfg).eval()
    graphs = []
    for seed in range(3):
        g = torch.Generator().manual_seed(seed)
        n = 60
        pos = torch.cat([torch.randint(0, 34, (n, 2), generator=g).float(), torch.rand(n, 1, generator=g) * 5], 1)
        edge_index = torch.randint(0, n, (2, 300), generator=g)
        graphs.append((torch.randn(n, 1, generator=g), pos, edge_index))
    alone = [model(x, pos, ei, torch.zeros(len(x), dtype=torch.long), 1) for x, pos, ei in graphs]
    offsets = [0, 60, 120]
    batched = model(torch.cat([g[0] for g in graphs]), torch.cat([g[1] for g in graphs]),
                    torch.cat([g[2] + o for g, o in zip(graphs, offsets)], 1),
                    torch.repeat_interleave(torch.arange(3), 60), 3)
    torch.testing.assert_close(batched, torch.cat(alone), atol=1e-5, rtol=1e-5)
