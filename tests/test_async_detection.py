"""The asynchronous engine on AEGNN's detector: after every event, equal to the dense detector on the graph of the
prefix, layer by layer (the 8×6 cell pool and the 3×3 grid head included), with its FLOPs counted."""

import numpy as np
import pytest
import torch
from test_async import check_against_dense
from traffic_data import build_traffic

from evrepro.aegnn import flops
from evrepro.aegnn.asynchronous import AsyncGraphRes
from evrepro.aegnn.detection_family import model_config
from evrepro.aegnn.detector import GraphResDetector
from evrepro.graphs.detection_params import PRESETS
from evrepro.graphs.detection_store import DetectionGraphStore, build_detection_graph_store

TRAFFIC = PRESETS["traffic"]  # 1,000 events per window, radius 3, cap 16
GENERATOR = {"seed": 2, "train_recordings": 1, "val_recordings": 1, "test_recordings": 2, "duration_ms": 600.0}
TOLERANCE = 1e-4


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def traffic_windows(tmp_path_factory):
    """The cache path and (pos, x) of every test window of a small embedded detection set."""
    root = build_traffic(tmp_path_factory.mktemp("traffic"), GENERATOR)
    build_detection_graph_store(root / "traffic.h5", root / "graphs.h5", TRAFFIC, progress=False)
    with DetectionGraphStore(root / "graphs.h5") as store:
        samples = [store.sample("test", i) for i in range(store.num_samples("test"))]
    return root / "graphs.h5", [(s["pos"], s["x"]) for s in samples]


def make_detector(cache, head="grid", seed=0) -> GraphResDetector:
    """Random weights, biases and BatchNorm statistics, in eval mode; the grid's outputs are not near zero."""
    torch.manual_seed(seed)
    model = GraphResDetector(model_config(cache, {"preset": "ncars", "pool_voxel": [4, 4], "head": head}))
    with torch.no_grad():
        for conv in model.convs:
            conv.bias.uniform_(-0.5, 0.5)
        for norm in model.norms:
            norm.running_mean.uniform_(-1.0, 1.0)
            norm.running_var.uniform_(0.2, 3.0)
            norm.weight.uniform_(0.5, 2.0)
            norm.bias.uniform_(-1.0, 1.0)
        model.head.bias.uniform_(-1.0, 1.0)
    return model.eval()


def feed(model, pos, x, events, start=0, check_every=1) -> tuple[AsyncGraphRes, float]:
    """``events`` events one by one (after an initialised prefix of ``start``), checked every ``check_every``."""
    engine = AsyncGraphRes(model, TRAFFIC.radius, TRAFFIC.max_neighbors)
    if start:
        engine.initialise(pos[:start], x[:start])
    worst = 0.0
    for k in range(start, start + events):
        output = engine.step(pos[k], x[k])
        if (k + 1 - start) % check_every == 0:
            worst = max(worst, check_against_dense(engine, model, pos, x, TRAFFIC.radius, TRAFFIC.max_neighbors))
            torch.testing.assert_close(output, engine.layers()["head"][0], rtol=0, atol=0)
    return engine, worst


@pytest.mark.parametrize("head", ["grid", "original"])
def test_every_event_of_a_window_matches_the_dense_detector(traffic_windows, head):
    cache, windows = traffic_windows
    pos, x = windows[0]
    model = make_detector(cache, head)
    engine, worst = feed(model, pos, x, 120)
    assert worst <= TOLERANCE
    shape = (1, 6, 8, 32) if head == "grid" else (1, 16 * 32)
    assert engine.layers()["pool7"].shape == shape and engine.layers()["head"].shape == (1, 8 * 6 * 7)


def test_a_whole_window_after_an_initialised_prefix_matches(traffic_windows):
    cache, windows = traffic_windows
    pos, x = max(windows, key=lambda window: len(window[0]))
    assert len(pos) == TRAFFIC.events_per_sample  # a full window
    engine, worst = feed(make_detector(cache, seed=1), pos, x, len(pos) - 400, start=400, check_every=100)
    assert worst <= TOLERANCE and engine.num_events == len(pos)
    # every cell of the grid holds events by now: the head saw changes in many cells
    assert engine.readout.pool.occupied > 24


def test_detector_flops_dense_by_formula_and_async_below(traffic_windows):
    cache, windows = traffic_windows
    pos, x = windows[1]
    model = make_detector(cache)
    engine = AsyncGraphRes(model, TRAFFIC.radius, TRAFFIC.max_neighbors)
    for k in range(150):
        engine.step(pos[k], x[k])
    dense = engine.dense_flops()
    c, per_cell = model.config.channels[-1], 5 + model.grid.num_classes
    assert dense["head"] == 48 * (2 * 9 * c * per_cell + per_cell)  # every cell's head, empty or not
    occupied = engine.readout.pool.occupied
    assert dense["pool7"] == (engine.pooled.size - occupied) * c
    assert 0 < engine.last_flops["head"] < dense["head"]
    assert sum(engine.last_flops.values()) < sum(dense.values())


def test_detector_head_update_flops_by_hand(traffic_windows):
    cache, _ = traffic_windows
    model = make_detector(cache)
    engine = AsyncGraphRes(model, TRAFFIC.radius, TRAFFIC.max_neighbors)
    c, per_cell = model.config.channels[-1], 5 + model.grid.num_classes
    # one event in the grid's corner cell (0, 0): its cell changes, seen by itself and 3 neighbours in the grid
    engine.step(np.float32([1, 1, 0]), np.float32([1]))
    changed = int((engine.readout.pool.features[0] != 0).sum())
    assert engine.last_flops["head"] == changed + 4 * 2 * changed * per_cell
    assert engine.last_flops["pool7"] == 0 and changed == c
    # one event in an inner cell (row 2, column 3): 9 cells read it
    engine.step(np.float32([3 * 8 + 1, 2 * 8 + 1, 0]), np.float32([1]))
    changed = int((engine.readout.pool.features[2 * 8 + 3] != 0).sum())
    assert engine.last_flops["head"] == changed + 9 * 2 * changed * per_cell
    assert flops.head_dense(9 * c, per_cell, True) * 48 == engine.dense_flops()["head"]


def test_a_trained_detector_s_asynchronous_evaluation(traffic_windows, tmp_path):
    """async.json of a detection run: exact against the dense detector, FLOPs under every convention, and the test
    COCO AP50 after n events, whose last point is the dense detector's on whole windows."""
    from training import outputs_in, train

    from evrepro.aegnn.async_eval import evaluate_async
    from evrepro.aegnn.detection_family import TRAINER
    from evrepro.aegnn.evaluate import load_best
    from evrepro.aegnn.tasks import Detection, loader
    from evrepro.training.record import AsyncResult, ModelRecord, read_record

    cache, windows = traffic_windows
    train(TRAINER, cache, tmp_path, {"preset": "ncars", "pool_voxel": [4, 4]}, {"epochs": 1, "batch_size": 8})
    outputs = outputs_in(tmp_path, TRAINER)
    threads = torch.get_num_threads()
    try:
        result = evaluate_async(cache, outputs.best, outputs.model, tmp_path / "async.json",
                                tmp_path / "score_vs_events.csv", max_streams=2, device="cpu", check_every=250,
                                threads=1)
    finally:
        torch.set_num_threads(threads)
    assert read_record(AsyncResult, tmp_path / "async.json") == result
    assert result.streams == 2 and result.max_abs_difference.checks >= 2
    assert result.max_abs_difference.any_layer <= TOLERANCE
    assert set(result.conventions) == {"evrepro", "dagr_last_event", "aegnn_paper_protocol"}
    for convention in result.conventions.values():
        assert 0 < convention.async_mflops_per_event < convention.dense_mflops_per_event
    assert result.layers["head"].dense_mflops_per_event > result.layers["head"].async_mflops_per_event > 0

    curve = result.score_vs_events
    assert curve.metric == "coco_ap50" and curve.samples == len(windows) and curve.events[-1] == 1000
    model, _ = load_best(cache, outputs.best, read_record(ModelRecord, outputs.model))
    whole = Detection.test_score(model, loader(Detection, Detection.dataset(cache, "test"), batch_size=64), "cpu")
    assert curve.score[-1] == pytest.approx(whole)  # every window whole (none has more than 1,000 events)
