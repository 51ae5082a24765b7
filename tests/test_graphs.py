"""AEGNN preprocessing: the capped radius graph against brute force, subsampling, the graph store."""

import importlib.util

import numpy as np
import pytest

from evrepro.events import make_events
from evrepro.graphs.params import GraphParams
from evrepro.graphs.preprocess import event_graph, sample_rng, subsample
from evrepro.graphs.radius import radius_graph, squared_distance
from evrepro.graphs.store import GraphStore, build_graph_store
from evrepro.datasets.store import EventsStore


def brute_force_graph(pos, r, cap):
    """The documented rule, one node at a time: nearest first within r, ties by lower index."""
    sources, targets = [], []
    for i in range(len(pos)):
        d2 = squared_distance(pos, pos[i])
        candidates = sorted((d2[j], j) for j in range(len(pos)) if j != i and d2[j] <= r * r)[:cap]
        sources += [j for _, j in candidates]
        targets += [i] * len(candidates)
    return np.array([sources, targets], dtype=np.int64).reshape(2, -1)


@pytest.mark.parametrize("seed", range(8))
def test_radius_graph_equals_brute_force_including_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 250))
    # integer pixels and coarse times make many exact distance ties, the hard case for a cap
    pos = np.c_[rng.integers(0, 8, (n, 2)), rng.integers(0, 4, n) * 0.5].astype(np.float32)
    cap, r = int(rng.integers(1, 12)), float(rng.choice([1.0, 1.5, 2.5]))
    np.testing.assert_array_equal(radius_graph(pos, r, cap), brute_force_graph(pos, r, cap))


def test_radius_graph_has_no_self_loops_and_respects_cap_and_radius():
    pos = np.random.default_rng(0).uniform(0, 20, (2000, 3))
    edges = radius_graph(pos, 2.0, 7)
    assert np.all(edges[0] != edges[1])
    assert np.bincount(edges[1], minlength=2000).max() <= 7
    assert np.all(squared_distance(pos[edges[0]], pos[edges[1]]) <= 4.0)
    assert np.all(np.diff(edges[1]) >= 0)


@pytest.mark.skipif(importlib.util.find_spec("torch_cluster") is None,
                    reason="torch_cluster is not installable from PyPI here; the brute-force test stands in")
def test_uncapped_edges_agree_with_torch_cluster():
    import torch
    from torch_cluster import radius_graph as cluster_radius_graph

    pos = np.random.default_rng(1).uniform(0, 10, (500, 3)).astype(np.float32)
    ours = {tuple(e) for e in radius_graph(pos, 1.5, 1000).T}
    theirs = cluster_radius_graph(torch.from_numpy(pos), r=1.5, max_num_neighbors=1000)
    assert ours == {tuple(e) for e in theirs.numpy().T}


def test_subsampling_keeps_time_order_and_is_seeded():
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    kept = subsample(5000, 1000, rng_a)
    assert kept.size == 1000 and np.all(np.diff(kept) > 0)
    np.testing.assert_array_equal(kept, subsample(5000, 1000, rng_b))
    np.testing.assert_array_equal(subsample(300, 1000, rng_a), np.arange(300))


def test_event_graph_normalises_time_in_microseconds():
    events = make_events([1000, 1100, 2000, 2100], [1, 1, 1, 5], [1, 1, 1, 1], [1, 0, 1, 0])
    params = GraphParams(n_samples=10, radius=1.5, max_neighbors=4, beta_per_us=1e-3)
    pos, x, edges = event_graph(events, params, np.random.default_rng(0))
    np.testing.assert_allclose(pos[:, 2], [0.0, 0.1, 1.0, 1.1], rtol=1e-6)
    assert x[:, 0].tolist() == [1.0, -1.0, 1.0, -1.0] and x.dtype == np.float32
    assert {tuple(e) for e in edges.T} == {(1, 0), (0, 1), (2, 1), (1, 2), (0, 2), (2, 0)}
    np.testing.assert_array_equal(edges, radius_graph(pos, 1.5, 4))  # rebuildable from the stored float32


def test_graph_store_round_trip(tiny_digits, tmp_path):
    params = GraphParams(n_samples=300, radius=3.0, max_neighbors=8, beta_per_us=3e-5, seed=1)
    counts = build_graph_store(tiny_digits["store"], tmp_path / "g.h5", params, progress=False)
    with EventsStore(tiny_digits["store"]) as events, GraphStore(tmp_path / "g.h5") as graphs:
        assert counts == {split: events.num_samples(split) for split in events.splits}
        assert graphs.params == params and graphs.sensor_size == (34, 34)
        for split in events.splits:
            np.testing.assert_array_equal(graphs.labels(split), events.labels(split))
        sample = graphs.sample("val", 1)
        pos, x, edges = event_graph(events.sample("val", 1), params, sample_rng(params, "val", 1))
        np.testing.assert_array_equal(sample["pos"], pos)
        np.testing.assert_array_equal(sample["edge_index"], edges)
        assert sample["pos"].shape == (300, 3) and sample["edge_index"].dtype == np.int32
