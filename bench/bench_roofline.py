"""Roofline of both families' training steps on this machine, the anchor of every speed claim.

For each family's default `digits` run (ECN: the vox-pool network, batches of 32; AEGNN: GraphRes, batches of 16),
on caches of the embedded dataset: the time of a training step (forward, backward, optimiser; after 3 warm-up
steps, the mean over ``--steps`` batches of epoch 0), its FLOPs (``evrepro.ecn.flops``, ``evrepro.aegnn.flops``:
three forward passes' products) and the achieved GFLOP/s, beside the machine's dense float32 matrix product in
the same framework (TensorFlow for ECN, torch for AEGNN; 2048×2048, same threads) measured in the same run. The
step's bound is its FLOPs at that rate; ``fraction_of_matmul`` says how close the step comes.

ECN's step is also timed as the code stood at ``--baseline`` (default: the commit the speed work started from),
AEGNN's at ``--aegnn-baseline`` (before its basis was computed as a running outer product), on the same batches and
threads, in the same run: ``speedup`` = baseline time / current time. Every measurement runs
in a fresh process, so each sees only its own threads and its own code. Each side is measured ``--rounds`` times,
current and baseline alternating, and its fastest round counts (every round's time is in the JSON): this 2-core
machine's speed drifts by ±15 % within minutes (the same ECN step measured 160 and 188 ms an hour apart), and
alternating keeps a slow spell from landing on one side only.

Run: .venv/bin/python bench/bench_roofline.py [--threads 1] [--steps 20] [--rounds 2]  ->  results/bench/roofline.json
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_ecn import per_second

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results/bench/roofline.json"
BASELINE = "c84963f"  # main before ECN's edge-first convolutions
AEGNN_BASELINE = "d701dc4"  # main before AEGNN's basis as a running outer product
DATA = {"generator": {"max_images": 800, "recordings_per_image": 2}, "val_fraction": 0.1, "split_seed": 0}
ECN_NETWORK = {"preset": "digits", "dropout_rate": 0.2, "batchnorm_momentum": 0.9}  # config/config.yaml's
AEGNN_NETWORK = {"preset": "ncars", "pool_voxel": [8, 8]}
ECN_BATCH, AEGNN_BATCH, WARMUP = 32, 16, 3
MATMUL_SIZE = 2048


def build_caches(folder: Path) -> tuple[Path, Path]:
    """The digits stream and graph caches of an 800-image embedded dataset."""
    from evrepro.datasets import stages
    from evrepro.graphs.params import PRESETS as GRAPH_PRESETS
    from evrepro.graphs.store import build_graph_store
    from evrepro.streams.params import PRESETS as STREAM_PRESETS
    from evrepro.streams.store import build_stream_store

    manifest = stages.fetch("digits", DATA, folder / "archives/manifest.json", progress=False)
    stages.extract(manifest, folder / "raw", progress=False)
    stages.build_events("digits", DATA, manifest, folder / "raw", folder / "events.h5", folder / "splits.json",
                        progress=False)
    build_stream_store(folder / "events.h5", folder / "streams.h5", STREAM_PRESETS["digits"], progress=False)
    build_graph_store(folder / "events.h5", folder / "graphs.h5", GRAPH_PRESETS["digits"], progress=False)
    return folder / "streams.h5", folder / "graphs.h5"


def ecn_batches(cache: Path, count: int) -> list[dict]:
    """The first ``count`` collated training batches of epoch 0 (seed 0), as every ECN step below reads them."""
    from evrepro.ecn.data import split_order
    from evrepro.streams.batches import collate, read_batches
    from evrepro.streams.store import StreamStore

    with StreamStore(cache) as store:
        order = split_order(store, "train", ECN_BATCH, shuffle=True, seed=0, epoch=0)
        batches = []
        for samples in read_batches(store, "train", order):
            batches.append(collate(samples, store.params, [0, 1, 2]))
            if len(batches) == count:
                return batches
    raise ValueError(f"{cache} has fewer than {count} training batches")


def ecn_step_case(cache: Path, steps: int, threads: int) -> dict:
    """ms per ECN training step (a fresh process: this code's, or the baseline's on PYTHONPATH) and TF's matmul."""
    import keras
    import tensorflow as tf

    from evrepro.ecn.classifier import Classifier, configure_tensorflow
    from evrepro.ecn.family import model_config

    configure_tensorflow("cpu", threads)
    classifier = Classifier(cache, model_config(cache, ECN_NETWORK), seed=0)
    classifier.build()
    optimizer = keras.optimizers.Adam(3e-3)
    optimizer.build(classifier.model.trainable_variables)
    step = classifier.train_step_for(optimizer)
    passes = classifier.passes("train", ECN_BATCH, shuffle=True, seed=0)
    batches = passes.next_pass()
    for _ in range(WARMUP):
        step(next(batches))
    timed = [next(batches) for _ in range(steps)]
    began = time.perf_counter()
    for batch in timed:
        float(step(batch)[0][0])
    seconds = (time.perf_counter() - began) / steps
    passes.close()
    a = tf.random.normal((MATMUL_SIZE, MATMUL_SIZE))
    matmul = tf.function(lambda: tf.matmul(a, a))
    return {"ms_per_step": 1e3 * seconds,
            "matmul_gflops": 2 * MATMUL_SIZE**3 * per_second(lambda: matmul().numpy()) / 1e9}


def aegnn_step_case(cache: Path, steps: int, threads: int) -> dict:
    """ms per AEGNN training step, its FLOPs per step and torch's matmul GFLOP/s (a fresh process)."""
    import torch

    from evrepro.aegnn.family import model_config
    from evrepro.aegnn.tasks import loader, task_for

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = model_config(cache, AEGNN_NETWORK)
    task = task_for(config)
    model = task.model(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = iter(loader(task, task.dataset(cache, "train"), batch_size=AEGNN_BATCH, shuffle=False))
    warmup = [next(batches) for _ in range(WARMUP)]
    timed = [next(batches) for _ in range(steps)]

    def train_step(batch):
        loss, _ = task.step(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    model.train()
    for batch in warmup:
        train_step(batch)
    began = time.perf_counter()
    for batch in timed:
        train_step(batch)
    seconds = (time.perf_counter() - began) / steps
    flops = float(np.mean([aegnn_step_flops(config, batch) for batch in timed]))
    a = torch.randn(MATMUL_SIZE, MATMUL_SIZE)
    return {"ms_per_step": 1e3 * seconds, "flops_per_step": flops,
            "matmul_gflops": 2 * MATMUL_SIZE**3 * per_second(lambda: a @ a) / 1e9}


def aegnn_step_flops(config, batch) -> int:
    """A training step's FLOPs on ``batch``: three dense forward passes (``evrepro.aegnn.flops``) on its graphs."""
    import torch

    from evrepro.aegnn import flops
    from evrepro.aegnn.graph_res import grid_cells, voxel_max_pool

    x = torch.zeros((batch.pos.shape[0], 1))
    _, pooled_pos, pooled_edges, pooled_batch = voxel_max_pool(x, batch.pos, batch.edge_index, batch.batch,
                                                               config.pool_voxel, config.sensor_size)
    cells = torch.unique(pooled_batch * 10_000 + grid_cells(pooled_pos, config.sensor_size)).numel()
    size = flops.GraphSize(int(batch.pos.shape[0]), int(batch.edge_index.shape[1]), int(pooled_pos.shape[0]),
                           int(pooled_edges.shape[1]), int(cells))
    per_layer = flops.dense_flops(config, size)
    head = per_layer.pop("head")
    return 3 * (sum(per_layer.values()) + head * batch.num_graphs)


def in_fresh_process(case: str, cache: Path, steps: int, threads: int, source: Path | None = None) -> dict:
    """Run one ``--case`` in a fresh interpreter (with the code under ``source`` first on the path, if given)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(source), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, __file__, "--case", case, "--cache", str(cache), "--steps", str(steps),
                           "--threads", str(threads)], capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def baseline_source(commit: str, folder: Path) -> Path:
    """``src/`` of the repository at ``commit``, unpacked under ``folder``."""
    archive = folder / f"{commit}.tar"
    subprocess.run(["git", "archive", "-o", str(archive), commit, "src"], check=True, cwd=ROOT)
    with tarfile.open(archive) as tar:
        tar.extractall(folder / commit, filter="data")
    return folder / commit / "src"


def roofline(ms_per_step: float, flops_per_step: float, matmul_gflops: float) -> dict:
    achieved = flops_per_step / (ms_per_step / 1e3) / 1e9
    return {"ms_per_step": ms_per_step, "gflop_per_step": flops_per_step / 1e9, "achieved_gflops": achieved,
            "matmul_gflops": matmul_gflops, "bound_ms_per_step": 1e3 * flops_per_step / (matmul_gflops * 1e9),
            "fraction_of_matmul": achieved / matmul_gflops}


def fastest_of_rounds(cases: dict, rounds: int) -> dict:
    """Run each of ``cases`` (name -> no-argument function returning a case's result) ``rounds`` times, the cases
    alternating; per case, its fastest result with every round's ``ms_per_step`` under ``rounds_ms_per_step``."""
    results = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            results[name].append(case())
    return {name: {**min(found, key=lambda r: r["ms_per_step"]),
                   "rounds_ms_per_step": [r["ms_per_step"] for r in found]} for name, found in results.items()}


def main(threads: int, steps: int, rounds: int, baseline: str, aegnn_baseline: str) -> dict:
    from evrepro.ecn.family import model_config as ecn_model_config
    from evrepro.ecn.flops import training_step_flops

    with tempfile.TemporaryDirectory() as folder:
        streams, graphs = build_caches(Path(folder))
        config = ecn_model_config(streams, ECN_NETWORK)
        ecn_flops = float(np.mean([training_step_flops(config, batch)
                                   for batch in ecn_batches(streams, WARMUP + steps)[WARMUP:]]))
        ecn_source = baseline_source(baseline, Path(folder))
        aegnn_source = baseline_source(aegnn_baseline, Path(folder))
        found = fastest_of_rounds({
            "ecn": lambda: in_fresh_process("ecn", streams, steps, threads),
            "ecn_before": lambda: in_fresh_process("ecn", streams, steps, threads, ecn_source),
            "aegnn": lambda: in_fresh_process("aegnn", graphs, steps, threads),
            "aegnn_before": lambda: in_fresh_process("aegnn", graphs, steps, threads, aegnn_source)}, rounds)
    current, before, aegnn, aegnn_before = found["ecn"], found["ecn_before"], found["aegnn"], found["aegnn_before"]
    ecn = roofline(current["ms_per_step"], ecn_flops, current["matmul_gflops"])
    ecn["rounds_ms_per_step"] = current["rounds_ms_per_step"]
    ecn["baseline"] = {"commit": baseline, **roofline(before["ms_per_step"], ecn_flops, before["matmul_gflops"]),
                       "rounds_ms_per_step": before["rounds_ms_per_step"]}
    ecn["speedup"] = before["ms_per_step"] / current["ms_per_step"]
    aegnn_now = roofline(aegnn["ms_per_step"], aegnn["flops_per_step"], aegnn["matmul_gflops"])
    aegnn_now["rounds_ms_per_step"] = aegnn["rounds_ms_per_step"]
    aegnn_now["baseline"] = {"commit": aegnn_baseline, **roofline(aegnn_before["ms_per_step"], aegnn["flops_per_step"],
                                                                  aegnn_before["matmul_gflops"]),
                             "rounds_ms_per_step": aegnn_before["rounds_ms_per_step"]}
    aegnn_now["speedup"] = aegnn_before["ms_per_step"] / aegnn["ms_per_step"]
    result = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                          "threads": threads},
              "definition": "FLOPs per step: 3 forward passes' products (evrepro.ecn.flops, evrepro.aegnn.flops); "
                            f"matmul: float32 {MATMUL_SIZE}x{MATMUL_SIZE}, same framework and threads",
              "steps": steps, "rounds": rounds,
              "ecn": {"network": "digits default (N-MNIST's vox-pool, 32 filters)", "batch_size": ECN_BATCH, **ecn},
              "aegnn": {"network": "digits default (GraphRes, N-CARS layers)", "batch_size": AEGNN_BATCH,
                        **aegnn_now}}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--aegnn-baseline", default=AEGNN_BASELINE)
    parser.add_argument("--case", choices=["ecn", "aegnn"])
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args()
    if args.case:
        case = ecn_step_case if args.case == "ecn" else aegnn_step_case
        print(json.dumps(case(args.cache, args.steps, args.threads)))
    else:
        print(json.dumps(main(args.threads, args.steps, args.rounds, args.baseline, args.aegnn_baseline), indent=2))
