"""The original AEGNN's preprocessing behaviours a graph cache can reproduce (``preprocessing.compat``), each checked
against a transcription of what uzh-rpg/aegnn@d96e13b ``aegnn/datasets/ncaltech101.py`` computes, and their part in a
cache's identity."""

from dataclasses import replace

import numpy as np
import pytest
import torch
import yaml

from evrepro.caches import cache_id
from evrepro.config import SCHEMA
from evrepro.events import make_events
from evrepro.graphs.params import GRAPH_COMPAT, PRESETS, GraphParams
from evrepro.graphs.preprocess import event_graph, median_window_stop
from evrepro.graphs.radius import radius_graph
from evrepro.graphs.store import stored_params


def original_window(t_us: np.ndarray) -> tuple[int, int]:
    """(index0, index1) of the original's cut, as its ``pre_transform`` computes them: times in float32 seconds (its
    ``load``), a 50 ms window given in µs, ``torch.searchsorted`` minus one, clamped; it keeps ``[index0:index1]``."""
    t = torch.from_numpy(t_us / 1e6).float()
    n = t.numel()
    median = t[n // 2]
    index1 = torch.clamp(torch.searchsorted(t, median) - 1, 0, n - 1)
    index0 = torch.clamp(torch.searchsorted(t, median - 50 * 1000) - 1, 0, n - 1)
    return int(index0), int(index1)


@pytest.mark.parametrize("seed", range(6))
def test_the_median_window_keeps_what_the_original_s_cut_keeps(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    t_us = np.sort(rng.integers(0, int(rng.choice([50, 300_000, 2_000_000])), n))  # few distinct times: many ties
    index0, index1 = original_window(t_us)
    assert index0 == 0  # the 50 "ms" reach back before the first event
    assert median_window_stop(t_us) == index1
    # the event before the median time's first event is dropped too: [0, 1, 2, 3, 4] keeps one event
    assert median_window_stop(np.arange(5)) == 1 and median_window_stop(np.array([7])) == 0


def test_an_original_window_keeps_the_events_before_the_median_and_subsamples_those():
    events = make_events(np.arange(0, 1000, 10), np.arange(100) % 30, np.arange(100) % 20, np.arange(100) % 2)
    params = GraphParams(events_per_sample=20, radius=3.0, max_neighbors=8, beta_per_us=1e-3,
                         compat=("median_window",))
    pos, _, _ = event_graph(events, params, np.random.default_rng(0))
    # the median event (index 50) is at 500 µs: events 0-48 (up to 480 µs) remain, and 20 of those are kept
    assert len(pos) == 20 and pos[:, 2].max() <= 0.48 + 1e-6


def test_time_in_seconds_applies_beta_per_second_and_flattens_the_graph_to_x_y():
    rng = np.random.default_rng(1)
    n = 400
    events = make_events(np.sort(rng.integers(0, 3_000_000, n)), rng.integers(0, 20, n), rng.integers(0, 20, n),
                         rng.integers(0, 2, n))
    params = GraphParams(events_per_sample=n, radius=3.0, max_neighbors=1000, beta_per_us=0.5e-5)
    seconds = replace(params, compat=("time_in_seconds",))
    pos_us, _, edges_us = event_graph(events, params, np.random.default_rng(0))
    pos_s, _, edges_s = event_graph(events, seconds, np.random.default_rng(0))
    t = events["t"].astype(np.float64)
    np.testing.assert_allclose(pos_s[:, 2], ((t - t[0]) / 1e6 * 0.5e-5).astype(np.float32), rtol=1e-6)
    assert pos_s[:, 2].max() < 2e-5 and pos_us[:, 2].max() > 10.0
    # integer pixels, t' below 2e-5: every pair within 3 in (x, y) is within 3 in (x, y, t') and none farther (the
    # order of a node's edges differs: t' still breaks ties of distance in (x, y))
    assert set(map(tuple, edges_s.T.tolist())) == set(map(tuple, radius_graph(pos_s[:, :2], 3.0, 1000).T.tolist()))
    assert edges_s.shape[1] > 3 * edges_us.shape[1]


def test_compat_gives_a_cache_its_own_id_and_caches_without_it_keep_theirs():
    digits = PRESETS["digits"]
    assert "compat" not in digits.as_dict()  # the id every cache made before preprocessing.compat has
    original = replace(digits, compat=["median_window", "time_in_seconds"])
    assert original.compat == ("time_in_seconds", "median_window")  # a config's list, hashable, in one order
    assert cache_id(original) == cache_id(replace(digits, compat=("time_in_seconds", "median_window")))
    assert cache_id(original) != cache_id(digits) != cache_id(replace(digits, compat=("time_in_seconds",)))
    assert stored_params(**original.as_dict()) == original and stored_params(**digits.as_dict()) == digits
    with pytest.raises(ValueError, match=r"^preprocessing.compat: seconds is none of time_in_seconds, median_window$"):
        replace(digits, compat=("seconds",))


def test_the_schema_offers_the_compat_names_the_code_knows():
    from evrepro.aegnn.presets import NETWORK_COMPAT
    from evrepro.ecn.train import TRAINING_COMPAT

    definitions = yaml.safe_load(SCHEMA.read_text())["$defs"]
    offered = {block: tuple(definitions[block]["properties"]["compat"]["items"]["enum"])
               for block in ("aegnn_preprocessing", "aegnn_network", "ecn_training")}
    assert offered == {"aegnn_preprocessing": GRAPH_COMPAT, "aegnn_network": NETWORK_COMPAT,
                       "ecn_training": TRAINING_COMPAT}
