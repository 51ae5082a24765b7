"""Asynchronous evaluation of a trained run: async.json and score_vs_events.csv, consistent with themselves."""

import pandas as pd
import pytest
import torch
from torch_geometric.loader import DataLoader
from training import outputs_in, train

from evrepro.aegnn import flops
from evrepro.aegnn.async_eval import evaluate_async
from evrepro.aegnn.async_eval.dense import event_counts
from evrepro.aegnn.data import GraphStoreDataset
from evrepro.aegnn.evaluate import load_best
from evrepro.aegnn.family import TRAINER
from evrepro.aegnn.loop import run_batches
from evrepro.aegnn.presets import LAYERS
from evrepro.graphs.params import GraphParams
from evrepro.graphs.store import GraphStore, build_graph_store
from evrepro.training.record import ASYNC_FORMAT, AsyncResult, ModelRecord, read_record


@pytest.fixture(scope="module")
def trained(tiny_digits, tmp_path_factory):
    root = tmp_path_factory.mktemp("async_eval")
    graphs = root / "graphs.h5"
    build_graph_store(tiny_digits["store"], graphs, GraphParams(200, 3.0, 8, 3e-5), progress=False)
    train(TRAINER, graphs, root / "run", {"preset": "ncars", "pool_voxel": [8, 8]}, {"epochs": 1, "batch_size": 8})
    return graphs, root / "run"


def test_event_counts_double_up_to_the_stream_length():
    assert event_counts(500) == [25, 50, 100, 200, 400, 500]
    assert event_counts(200) == [25, 50, 100, 200]
    assert event_counts(10) == [10]


def test_async_json_is_complete_and_consistent(trained):
    graphs, run_dir = trained
    threads = torch.get_num_threads()
    try:
        outputs = outputs_in(run_dir, TRAINER)
        result = evaluate_async(graphs, outputs.best, outputs.model, run_dir / "async.json",
                                run_dir / "score_vs_events.csv", max_streams=3, device="cpu", check_every=40,
                                threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    assert read_record(AsyncResult, run_dir / "async.json") == result
    assert result.format == ASYNC_FORMAT and result.flop_definition == flops.DEFINITION
    assert result.streams == 3 and result.events == 3 * 200
    assert result.graph == {"radius": 3.0, "max_neighbors": 8, "events_per_sample": 200}

    total = result.flops
    assert 0 < total.async_mflops_per_event < total.dense_mflops_per_event
    layers = result.layers
    assert list(layers) == list(LAYERS)
    for key in ("dense_mflops_per_event", "async_mflops_per_event"):
        assert sum(getattr(layer, key) for layer in layers.values()) == pytest.approx(getattr(total, key))
    assert layers["conv1"].log10_dense_over_async > 1  # one event among up to 200 at the first layer
    assert result.speedup.flops == pytest.approx(total.dense_mflops_per_event / total.async_mflops_per_event)

    latency = result.latency_ms_per_event
    assert latency.device == "cpu" and latency.threads == 1 and latency.asynchronous.samples == 600
    assert latency.dense.samples == result.max_abs_difference.checks == 3 * 5  # 40, 80, ..., 200
    for timing in (latency.asynchronous, latency.dense):
        assert timing.mean > 0 and timing.median > 0
    assert result.speedup.latency_mean == pytest.approx(latency.dense.mean / latency.asynchronous.mean)

    difference = result.max_abs_difference
    assert 0 <= difference.logits <= difference.any_layer <= 1e-4

    curve = result.score_vs_events
    with GraphStore(graphs) as store:
        assert curve.samples == store.num_samples("test")
    assert curve.events == [25, 50, 100, 200]
    assert curve.metric == "accuracy" and all(0 <= a <= 1 for a in curve.score)
    model, _ = load_best(graphs, outputs.best, read_record(ModelRecord, outputs.model))
    _, accuracy, _, _ = run_batches(model, DataLoader(GraphStoreDataset(graphs, "test"), batch_size=64), "cpu")
    assert curve.score[-1] == pytest.approx(accuracy)  # all events: the ordinary test accuracy
    table = pd.read_csv(run_dir / "score_vs_events.csv")
    assert table["events"].tolist() == curve.events
    assert set(table["metric"]) == {"accuracy"} and table["score"].tolist() == pytest.approx(curve.score)
    check_flop_conventions(result, graphs, outputs)


def check_flop_conventions(result, graphs, outputs):
    """The three FLOP conventions of async.json, each recomputed from its description."""
    import numpy as np

    from evrepro.aegnn.async_eval.paper_protocol import paper_protocol_costs
    from evrepro.aegnn.asynchronous import AsyncGraphRes
    from evrepro.graphs.radius import radius_graph

    conventions = result.conventions
    assert set(conventions) == {"evrepro", "dagr_last_event", "aegnn_paper_protocol"}
    model, _ = load_best(graphs, outputs.best, read_record(ModelRecord, outputs.model))
    with GraphStore(graphs) as store:
        streams = [store.sample("test", int(i)) for i in result.stream_indices]
    last = []
    for stream in streams:  # the cost of the last event, its graph complete
        engine = AsyncGraphRes(model, 3.0, 8)
        for k in range(len(stream["pos"])):
            engine.step(stream["pos"][k], stream["x"][k])
        last.append(sum(engine.last_flops.values()))
    assert conventions["dagr_last_event"].async_mflops_per_event == pytest.approx(np.mean(last) / 1e6)

    totals = {"async": [], "dense": []}
    c = model.config.channels
    for stream in streams:
        costs = paper_protocol_costs(model, stream, 3.0, 8, "cpu")
        flat = np.array(stream["pos"], dtype=np.float32)
        flat[:, 2] = 0
        edges = radius_graph(flat, 3.0, 8)  # 2-D: the new (last) node's incoming edges, counted independently
        incoming = int(np.sum(edges[1] == len(flat) - 1))
        # one node: per edge 2^2 basis products of 2 factors and the kernel products; mean, root, bias, ELU, norm
        assert costs["async"]["conv1"] == incoming * 4 * (2 + 2 * c[0] * c[1]) + c[1] + 2 * c[0] * c[1] + c[1] + 3 * c[1]
        assert costs["dense"]["conv1"] > 10 * costs["async"]["conv1"]  # dense: every node of the 2-D graph
        for kind in totals:
            totals[kind].append(sum(costs[kind].values()))
    protocol = conventions["aegnn_paper_protocol"]
    for kind in totals:
        assert getattr(protocol, f"{kind}_mflops_per_event") == pytest.approx(np.mean(totals[kind]) / 1e6)
    assert 0 < protocol.async_mflops_per_event < protocol.dense_mflops_per_event
