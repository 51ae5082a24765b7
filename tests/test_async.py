"""Asynchronous GraphRes: after every event, equal to the dense model on the graph of the prefix, layer by layer."""

import numpy as np
import pytest
import torch

from evrepro.aegnn import flops
from evrepro.aegnn.asynchronous import AsyncGraphRes
from evrepro.aegnn.asynchronous.graph import StreamGraph
from evrepro.aegnn.graph_res import GraphRes, grid_max_pool, voxel_max_pool
from evrepro.aegnn.presets import LAYERS, PRESET_LAYERS, GraphResConfig
from evrepro.events import read
from evrepro.graphs.params import PRESETS
from evrepro.graphs.preprocess import event_graph
from evrepro.graphs.radius import radius_graph
from evrepro.graphs.store import GraphStore, build_graph_store

DIGITS = PRESETS["digits"]  # 500 events, radius 3, cap 16
TOLERANCE = 1e-4


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digit_streams(tiny_digits, tmp_path_factory):
    """(pos, x) of every test sample of the tiny digits store, preprocessed with the digits preset."""
    path = tmp_path_factory.mktemp("async") / "graphs.h5"
    build_graph_store(tiny_digits["store"], path, DIGITS, progress=False)
    with GraphStore(path) as store:
        samples = [store.sample("test", i) for i in range(store.num_samples("test"))]
    return [(s["pos"], s["x"]) for s in samples]


def make_model(preset="ncars", dim=3, bias=True, root=True, seed=0, classes=10) -> GraphRes:
    """Random weights, random biases and non-trivial BatchNorm statistics, in eval mode."""
    layers = PRESET_LAYERS[preset]
    torch.manual_seed(seed)
    model = GraphRes(GraphResConfig(num_classes=classes, sensor_size=(34, 34), edge_scale=DIGITS.radius, dim=dim,
                                    kernel_size=layers["kernel_size"], channels=tuple(layers["channels"]),
                                    pool_voxel=(8.0, 8.0), root_weight=root, bias=bias, fc_bias=bias))
    with torch.no_grad():
        for conv in model.convs:
            if conv.bias is not None:
                conv.bias.uniform_(-0.5, 0.5)
        for norm in model.norms:
            norm.running_mean.uniform_(-1.0, 1.0)
            norm.running_var.uniform_(0.2, 3.0)
            norm.weight.uniform_(0.5, 2.0)
            norm.bias.uniform_(-1.0, 1.0)
    return model.eval()


def dense(model, pos, x, r=DIGITS.radius, cap=DIGITS.max_neighbors):
    edges = radius_graph(pos, r, cap)
    with torch.no_grad():
        _, layers = model(torch.from_numpy(x), torch.from_numpy(pos), torch.from_numpy(edges),
                          torch.zeros(len(pos), dtype=torch.long), 1, return_layers=True)
    return edges, layers


def sorted_edges(edges: np.ndarray) -> np.ndarray:
    return edges[:, np.lexsort((edges[0], edges[1]))]


def check_against_dense(engine: AsyncGraphRes, model, pos, x, r=DIGITS.radius, cap=DIGITS.max_neighbors) -> float:
    """Assert graph and every layer equal the dense pass on the engine's prefix; returns the largest difference."""
    k = engine.num_events
    edges, expected = dense(model, pos[:k], x[:k], r, cap)
    np.testing.assert_array_equal(engine.graph.edge_index(), sorted_edges(edges), err_msg=f"graph after {k} events")
    got, worst = engine.layers(), 0.0
    assert list(got) == list(expected) == list(LAYERS)  # one layer list: GraphRes, the engine, the FLOP counter
    for name, value in expected.items():
        assert got[name].shape == value.shape, f"{name} after {k} events"
        difference = float((got[name] - value).abs().max()) if value.numel() else 0.0
        assert difference <= TOLERANCE, f"{name} after {k} events differs by {difference}"
        worst = max(worst, difference)
    return worst


def run(model, pos, x, events, check, r=DIGITS.radius, cap=DIGITS.max_neighbors, start=0) -> float:
    """Feed ``events`` events (after an initialised prefix of ``start``); check where ``check(k)`` says so."""
    engine = AsyncGraphRes(model, r, cap)
    if start:
        engine.initialise(pos[:start], x[:start])
    worst = 0.0
    for k in range(start, start + events):
        logits = engine.step(pos[k], x[k])
        if check(k):
            worst = max(worst, check_against_dense(engine, model, pos, x, r, cap))
            torch.testing.assert_close(logits, engine.layers()["head"][0], rtol=0, atol=0)
    return worst


@pytest.mark.parametrize("preset, dim, sample", [("ncars", 3, 0), ("ncars", 2, 1), ("ncaltech101", 3, 2),
                                                 ("ncaltech101", 2, 3)])
def test_every_event_of_a_digits_prefix_matches_the_dense_model(digit_streams, preset, dim, sample):
    pos, x = digit_streams[sample]
    assert run(make_model(preset, dim, seed=sample), pos, x, 80, lambda k: True) <= TOLERANCE


@pytest.mark.parametrize("preset, dim", [("ncars", 3), ("ncaltech101", 2)])
def test_events_after_a_random_initialised_prefix_match(digit_streams, preset, dim):
    rng = np.random.default_rng(dim)
    for sample in rng.choice(len(digit_streams), 2, replace=False):
        pos, x = digit_streams[sample]
        start = int(rng.integers(100, len(pos) - 30))
        engine = AsyncGraphRes(make_model(preset, dim), DIGITS.radius, DIGITS.max_neighbors)
        engine.initialise(pos[:start], x[:start])
        check_against_dense(engine, engine.model, pos, x)
        assert run(engine.model, pos, x, 25, lambda k: True, start=start) <= TOLERANCE


def test_a_model_without_bias_and_root_weight(digit_streams):
    pos, x = digit_streams[4]
    assert run(make_model(bias=False, root=False), pos, x, 60, lambda k: True) <= TOLERANCE


@pytest.mark.parametrize("name, preset, dim", [("sample_nmnist.bin", "ncars", 3), ("1.bs2", "ncaltech101", 2)])
def test_real_nmnist_recordings_over_the_whole_stream(real_fixtures, name, preset, dim):
    pos, x, _ = event_graph(read(real_fixtures / "nmnist" / name), DIGITS, np.random.default_rng(0))
    assert len(pos) == DIGITS.events_per_sample
    graph = StreamGraph(DIGITS.radius, DIGITS.max_neighbors)
    assert sum(graph.insert(p).evicted.shape[1] for p in pos) > 100  # the cap bites all along
    last = len(pos) - 1
    assert run(make_model(preset, dim), pos, x, len(pos), lambda k: k % 25 == 0 or k == last) <= TOLERANCE


def test_every_event_with_a_tight_cap_that_evicts_often(real_fixtures):
    pos, x, _ = event_graph(read(real_fixtures / "nmnist" / "1.bs2"), DIGITS, np.random.default_rng(1))
    graph = StreamGraph(DIGITS.radius, 4)
    assert sum(graph.insert(p).evicted.shape[1] for p in pos[:100]) > 50
    assert run(make_model("ncars", 3), pos, x, 100, lambda k: True, cap=4) <= TOLERANCE


def test_the_stream_graph_is_the_radius_graph_after_every_insertion_with_pairs_at_exactly_r():
    """Integer positions put many pairs at exactly r (not joined: the rule is strict) and many ties at the cap."""
    pos = np.random.default_rng(5).integers(0, 6, (120, 3)).astype(np.float32)
    r, cap = 2.0, 3
    assert np.any(np.sum((pos[:, None] - pos[None]) ** 2, axis=-1) == r * r)
    graph = StreamGraph(r, cap)
    for k, p in enumerate(pos):
        graph.insert(p)
        dense = radius_graph(pos[: k + 1], r, cap)
        np.testing.assert_array_equal(graph.edge_index(), dense[:, np.lexsort((dense[0], dense[1]))])
    prefix = StreamGraph(r, cap)
    prefix.insert_all(pos)
    np.testing.assert_array_equal(prefix.edge_index(), graph.edge_index())


def edge_set(engine: AsyncGraphRes) -> set[tuple[int, int]]:
    return {tuple(e) for e in engine.graph.edge_index().T.tolist()}


def test_a_new_event_evicts_the_farthest_neighbour_of_an_older_node_and_loses_ties():
    # cap 2: node 0 first keeps nodes 1 (d² 1) and 2 (d² 4); node 3 (d² 0.25) evicts node 2 from its
    # list; node 4 is exactly as far from node 0 as node 1 is (d² 1), and the tie goes to the older node 1.
    offsets = [(0, 0, 0), (1, 0, 0), (0, 2, 0), (0.5, 0, 0), (-1, 0, 0)]
    pos = (np.asarray(offsets, dtype=np.float32) + np.float32([12.0, 12.0, 0.0])).astype(np.float32)
    x = np.float32([[1], [-1], [1], [1], [-1]])
    model = make_model(classes=3)
    engine = AsyncGraphRes(model, radius=3.0, max_neighbors=2)
    changes = []
    for k in range(len(pos)):
        before = edge_set(engine)
        engine.step(pos[k], x[k])
        after = edge_set(engine)
        changes.append((before - after, after - before))
        check_against_dense(engine, model, pos, x, r=3.0, cap=2)
    removed, added = changes[3]
    assert (2, 0) in removed and (3, 0) in added
    removed, added = changes[4]
    assert (1, 0) not in removed and (4, 0) not in added and (0, 4) in added


def test_pooled_positions_and_edges_are_those_of_the_dense_pool(digit_streams):
    pos, x = digit_streams[5]
    model = make_model("ncars", 3)
    engine = AsyncGraphRes(model, DIGITS.radius, DIGITS.max_neighbors)
    engine.initialise(pos[:200], x[:200])
    for k in range(200, 260):
        engine.step(pos[k], x[k])
    edges = torch.from_numpy(radius_graph(pos[:260], DIGITS.radius, DIGITS.max_neighbors))
    _, dense_pos, dense_edges, _ = voxel_max_pool(torch.zeros(260, 1), torch.from_numpy(pos[:260]), edges,
                                                  torch.zeros(260, dtype=torch.long), (8.0, 8.0), (34, 34))
    order = engine.pooled.dense_order()
    assert np.array_equal(engine.pooled.pos[order], dense_pos.numpy())  # bit for bit, not just close
    rank = np.argsort(order)  # engine id -> dense index
    np.testing.assert_array_equal(sorted_edges(rank[engine.pooled.edge_index()]), sorted_edges(dense_edges.numpy()))


def dense_size(pos, r=DIGITS.radius, cap=DIGITS.max_neighbors) -> flops.GraphSize:
    edges = torch.from_numpy(radius_graph(pos, r, cap))
    n = len(pos)
    _, pooled_pos, pooled_edges, batch = voxel_max_pool(torch.zeros(n, 1), torch.from_numpy(pos), edges,
                                                        torch.zeros(n, dtype=torch.long), (8.0, 8.0), (34, 34))
    cells = grid_max_pool(torch.ones(len(pooled_pos), 1), pooled_pos, batch, 1, (34, 34))
    return flops.GraphSize(n, edges.shape[1], len(pooled_pos), pooled_edges.shape[1], int(cells.sum()))


def test_dense_flops_count_the_graph_of_the_prefix_and_async_flops_stay_below(digit_streams):
    pos, x = digit_streams[6]
    model = make_model("ncars", 3)
    engine = AsyncGraphRes(model, DIGITS.radius, DIGITS.max_neighbors)
    for k in range(120):
        engine.step(pos[k], x[k])
        dense_flops = engine.dense_flops()
        if k % 20 == 19:
            assert dense_flops == flops.dense_flops(model.config, dense_size(pos[: k + 1]))
        for name in LAYERS[:-1]:  # a head update touching every input can cost |Δ| more than a pass
            assert 0 < engine.last_flops[name] <= dense_flops[name] or name.startswith("pool")


def test_dense_flops_by_hand():
    config = GraphResConfig(num_classes=2, sensor_size=(34, 34), edge_scale=3.0, dim=2, kernel_size=2,
                            channels=(1, 8, 16, 16, 16, 32, 32, 32))
    size = flops.GraphSize(nodes=3, edges=4, coarse_nodes=2, coarse_edges=2, grid_cells=1)
    expected = {
        # edges·2^d·(d + 2·Fin·Fout) + nodes·(Fout mean + 2·Fin·Fout root + Fout bias + 3·Fout ELU/BN)
        "conv1": 4 * 4 * (2 + 16) + 3 * (8 + 16 + 8 + 24),              # 456
        "conv2": 4 * 4 * (2 + 256) + 3 * (16 + 256 + 16 + 48),         # 5136
        "conv3": 4 * 4 * (2 + 512) + 3 * (16 + 512 + 16 + 48),         # 10000
        "conv4": 4 * 4 * (2 + 512) + 3 * (16 + 512 + 16 + 48) + 3 * 16,  # plus the residual
        "conv5": 4 * 4 * (2 + 1024) + 3 * (32 + 1024 + 32 + 96),
        "pool5": (3 - 2) * 32 + (3 + 2) * 2,                             # comparisons + mean positions
        "conv6": 2 * 4 * (2 + 2048) + 2 * (32 + 2048 + 32 + 96),
        "conv7": 2 * 4 * (2 + 2048) + 2 * (32 + 2048 + 32 + 96) + 2 * 32,
        "pool7": (2 - 1) * 32,
        "head": 2 * 512 * 2 + 2,
    }
    assert flops.dense_flops(config, size) == expected
    assert expected["conv1"] == 456 and expected["head"] == 2050


def test_async_flops_by_hand():
    model = make_model("ncars", 2, classes=2)
    c = model.config.channels

    def block(nodes, edges, i):  # dim 2: 4 basis products of 2 factors per edge
        per_node = c[i + 1] + 2 * c[i] * c[i + 1] + c[i + 1] + 3 * c[i + 1]
        return edges * 4 * (2 + 2 * c[i] * c[i + 1]) + nodes * per_node

    engine = AsyncGraphRes(model, radius=3.0, max_neighbors=16)
    engine.step(np.float32([5, 5, 0]), np.float32([1]))
    engine.step(np.float32([6, 5, 0]), np.float32([-1]))
    # event 1 joins event 0: both nodes recomputed with one edge each, everywhere; one voxel of two members
    assert engine.last_flops == {
        **{f"conv{i + 1}": block(2, 2, i) for i in range(5)},
        "conv4": block(2, 2, 3) + 2 * 16,
        "pool5": (2 - 1) * 32 + (1 + 1) * 2,
        "conv6": block(1, 0, 5),
        "conv7": block(1, 0, 6) + 32,
        "pool7": 0,
        "head": 32 + 2 * 32 * 2,
    }
    engine.step(np.float32([30, 30, 0]), np.float32([1]))
    # a lone event in a new voxel and a new grid cell: one node, no edge, at every layer
    assert engine.last_flops == {
        **{f"conv{i + 1}": block(1, 0, i) for i in range(5)},
        "conv4": block(1, 0, 3) + 16,
        "pool5": 0 + (1 + 1) * 2,
        "conv6": block(1, 0, 5),
        "conv7": block(1, 0, 6) + 32,
        "pool7": 0,
        "head": 32 + 2 * 32 * 2,
    }


def test_the_engine_refuses_a_training_model_and_a_second_initialisation(digit_streams):
    model = make_model()
    with pytest.raises(ValueError, match="eval mode"):
        AsyncGraphRes(model.train(), DIGITS.radius, DIGITS.max_neighbors)
    pos, x = digit_streams[0]
    engine = AsyncGraphRes(model.eval(), DIGITS.radius, DIGITS.max_neighbors)
    engine.step(pos[0], x[0])
    with pytest.raises(RuntimeError, match="fresh engine"):
        engine.initialise(pos[:10], x[:10])
