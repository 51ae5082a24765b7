"""AEGNN preprocessing: the capped radius graph against brute force and torch_cluster's goldens, subsampling,
the graph store and its algorithm version."""

import importlib.util
from dataclasses import replace
from pathlib import Path

import numba
import numpy as np
import pytest

from evrepro.datasets.store import EventsStore
from evrepro.events import make_events
from evrepro.graphs.params import GRAPH_ALGORITHM, GraphParams
from evrepro.graphs.preprocess import event_graph, sample_rng, subsample
from evrepro.graphs.radius import radius_graph, squared_distance
from evrepro.graphs.store import GraphStore, build_graph_store, stored_params

GOLDENS = Path(__file__).parent / "data" / "reference" / "pyg_goldens.npz"


def brute_force_graph(pos, r, cap):
    """The documented rule, one node at a time: nearest first strictly within r, ties by lower index."""
    sources, targets = [], []
    for i in range(len(pos)):
        d2 = squared_distance(pos, pos[i])
        candidates = sorted((d2[j], j) for j in range(len(pos)) if j != i and d2[j] < r * r)[:cap]
        sources += [j for _, j in candidates]
        targets += [i] * len(candidates)
    return np.array([sources, targets], dtype=np.int64).reshape(2, -1)


@pytest.mark.parametrize("seed", range(8))
def test_radius_graph_equals_brute_force_including_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 250))
    # integer pixels and coarse times make many exact distance ties (and pairs at exactly r), the hard case
    pos = np.c_[rng.integers(0, 8, (n, 2)), rng.integers(0, 4, n) * 0.5].astype(np.float32)
    cap, r = int(rng.integers(1, 12)), float(rng.choice([1.0, 1.5, 2.5]))
    np.testing.assert_array_equal(radius_graph(pos, r, cap), brute_force_graph(pos, r, cap))


@pytest.mark.parametrize("dims", [1, 2])
def test_radius_graph_in_fewer_dimensions_equals_brute_force(dims):
    pos = np.random.default_rng(dims).integers(0, 30 // dims, (300, dims)).astype(np.float32)
    np.testing.assert_array_equal(radius_graph(pos, 2.0, 5), brute_force_graph(pos, 2.0, 5))


def test_radius_graph_has_no_self_loops_and_respects_cap_and_radius():
    pos = np.random.default_rng(0).uniform(0, 20, (2000, 3))
    edges = radius_graph(pos, 2.0, 7)
    assert np.all(edges[0] != edges[1])
    assert np.bincount(edges[1], minlength=2000).max() <= 7
    assert np.all(squared_distance(pos[edges[0]], pos[edges[1]]) < 4.0)
    assert np.all(np.diff(edges[1]) >= 0)


def test_radius_graph_distances_are_squared_distance_bit_for_bit():
    """Pairs of float32 points at r = sqrt(d²): r·r lands on either side of d² or on it, so joining the pair
    depends on the last bit of d². Another summation order decides some of these pairs differently (checked),
    and so would a fused multiply-add or ``r ** 2`` through ``pow``; the search must decide every one as
    ``squared_distance(a, b) < r * r`` does."""
    rng = np.random.default_rng(0)
    a, b = (rng.uniform(-50, 50, (1500, 3)).astype(np.float32) for _ in range(2))
    d2 = squared_distance(a, b)
    r = np.sqrt(d2)
    joined = d2 < r * r
    diff = a.astype(np.float64) - b
    reordered = diff[:, 0] * diff[:, 0] + (diff[:, 1] * diff[:, 1] + diff[:, 2] * diff[:, 2])
    assert 0 < joined.sum() < joined.size and np.any((reordered < r * r) != joined)
    found = [radius_graph(np.stack([a[k], b[k]]), r[k], 1).shape[1] for k in range(a.shape[0])]
    np.testing.assert_array_equal(found, np.where(joined, 2, 0))


def test_radius_graph_threads_change_nothing_and_are_restored():
    pos = np.random.default_rng(2).uniform(0, 30, (3000, 3)).astype(np.float32)
    before = numba.get_num_threads()
    one = radius_graph(pos, 2.5, 6)
    for threads in (2, 64):  # more than numba has: as many as it has
        np.testing.assert_array_equal(radius_graph(pos, 2.5, 6, threads=threads), one)
    assert numba.get_num_threads() == before
    with pytest.raises(ValueError, match="D <= 3"):
        radius_graph(np.zeros((4, 4)), 1.0, 2)


def golden_edges(case: str) -> tuple[np.ndarray, set]:
    with np.load(GOLDENS) as goldens:
        return goldens[f"radius/{case}/pos"], {tuple(e) for e in goldens[f"radius/{case}/edge_index"].T}


@pytest.mark.parametrize("case, r", [("grid_r2_uncapped", 2.0), ("grid_r1_uncapped", 1.0),
                                     ("grid_r1.5_uncapped", 1.5)])
def test_uncapped_radius_graph_equals_torch_cluster_goldens(case, r):
    """torch_cluster joins pairs strictly within r: on an integer grid, none at exactly r (r = 1: no edge)."""
    pos, theirs = golden_edges(case)
    ours = radius_graph(pos, r, 1000)
    assert {tuple(e) for e in ours.T} == theirs and ours.shape[1] == len(theirs)


def test_capped_radius_graph_keeps_the_nearest_where_torch_cluster_keeps_the_first_found():
    """With a cap, torch_cluster keeps the first candidates its tree search returns (and, asking for cap + 1 to drop
    the self loop, keeps cap + 1 when the node is not among them); evrepro keeps the nearest, ties by lower index.
    Both keep only edges strictly within r, and they agree wherever the cap does not bite."""
    pos, within = golden_edges("grid_r2_uncapped")
    _, theirs = golden_edges("grid_r2_cap4")
    ours = radius_graph(pos, 2.0, 4)
    assert {tuple(e) for e in ours.T} <= within and theirs <= within
    d2 = squared_distance(pos[:, None], pos[None])
    kept_by_them = np.bincount([i for _, i in theirs], minlength=len(pos))
    farther_kept = 0
    for i in range(len(pos)):
        candidates = sorted((d2[j, i], j) for j, target in within if target == i)  # nearest first, ties by index
        assert ours[0, ours[1] == i].tolist() == [j for _, j in candidates[:4]]
        if len(candidates) <= 4:
            assert {j for j, target in theirs if target == i} == {j for _, j in candidates}
        their_worst = max((d2[j, i], j) for j, target in theirs if target == i)
        farther_kept += their_worst > candidates[min(4, len(candidates)) - 1]
    assert (kept_by_them == 5).sum() == 32 and np.all(kept_by_them <= 5)
    assert farther_kept > 0  # so the two graphs differ, as documented


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
    params = GraphParams(events_per_sample=10, radius=1.5, max_neighbors=4, beta_per_us=1e-3)
    pos, x, edges = event_graph(events, params, np.random.default_rng(0))
    np.testing.assert_allclose(pos[:, 2], [0.0, 0.1, 1.0, 1.1], rtol=1e-6)
    assert x[:, 0].tolist() == [1.0, -1.0, 1.0, -1.0] and x.dtype == np.float32
    assert {tuple(e) for e in edges.T} == {(1, 0), (0, 1), (2, 1), (1, 2), (0, 2), (2, 0)}
    np.testing.assert_array_equal(edges, radius_graph(pos, 1.5, 4))  # rebuildable from the stored float32


def test_graph_store_round_trip(tiny_digits, tmp_path):
    params = GraphParams(events_per_sample=300, radius=3.0, max_neighbors=8, beta_per_us=3e-5, subsample_seed=1)
    counts = build_graph_store(tiny_digits["store"], tmp_path / "g.h5", params, progress=False, threads=2)
    with EventsStore(tiny_digits["store"]) as events, GraphStore(tmp_path / "g.h5") as graphs:
        assert counts == {split: events.num_samples(split) for split in events.splits}
        assert graphs.params == params and graphs.sensor_size == (34, 34)
        for split in events.splits:
            np.testing.assert_array_equal(graphs.labels(split), events.labels(split))
        sample = graphs.sample("val", 1)
        pos, x, edges = event_graph(events.sample("val", 1), params, sample_rng(params, "val", 1))
        np.testing.assert_array_equal(sample["pos"], pos)
        np.testing.assert_array_equal(sample["x"], x)
        np.testing.assert_array_equal(sample["edge_index"], edges)
        assert sample["pos"].shape == (300, 3) and sample["edge_index"].dtype == np.int32


def test_graph_caches_are_keyed_by_the_algorithm_version():
    """A cache's id hashes the graph algorithm's version with the parameters: caches built by the inclusive rule
    (version 1, d² <= r²) are rebuilt, not reused."""
    from evrepro.caches import cache_id, cache_params
    from evrepro.graphs.params import PRESETS

    params = cache_params({"family": "aegnn", "preprocessing": {"preset": "digits"}})
    assert params.algorithm == GRAPH_ALGORITHM == 2 and params.as_dict()["algorithm"] == GRAPH_ALGORITHM
    for other in (GRAPH_ALGORITHM - 1, GRAPH_ALGORITHM + 1):
        assert cache_id(replace(params, algorithm=other)) != cache_id(params)
    assert cache_id(PRESETS["digits"]) == cache_id(params)  # the same code and parameters: the same id
    old = {key: value for key, value in params.as_dict().items() if key != "algorithm"}
    assert stored_params(**old).algorithm == 1 and stored_params(**params.as_dict()) == params
    events = make_events([0, 10], [1, 2], [1, 2], [0, 1])
    with pytest.raises(ValueError, match="graph algorithm 1 asked for"):
        event_graph(events, replace(params, algorithm=1), np.random.default_rng(0))
    with pytest.raises(ValueError, match="graph algorithm 1 asked for"):
        build_graph_store("unused.h5", "unused-out.h5", replace(params, algorithm=1), progress=False)
