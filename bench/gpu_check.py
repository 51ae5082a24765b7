"""GPU check: both families trained for one epoch on CUDA on `digits`, beside the same epoch on the CPU, and AEGNN's
asynchronous engine timed on CUDA.

For each family, in a fresh process per device (no process loads both frameworks): one epoch of the default run's
network on a small `digits` set (``SIZE`` images), through the same stage the workflow's training job runs, then its
test metrics. Reported per device: training samples/s (the epoch's wall time; every batch reads its loss back, so
the GPU's work is inside it), peak GPU memory (torch.cuda.max_memory_allocated; TensorFlow's get_memory_info peak),
and the metrics; then whether the GPU's train loss is within ``LOSS_TOLERANCE`` (relative) and its test accuracy
within ``ACCURACY_TOLERANCE`` of the CPU's (GPU kernels sum in another order; one epoch keeps the drift small).
AEGNN's asynchronous evaluation then runs on the GPU (its clock synchronises CUDA before every reading): latency
per event, dense and asynchronous, and the largest difference to the dense model. Per family the JSON holds
``cpu`` and ``checked`` (the device asked for), whether they agree, and the speed-up.

Run on a GPU node with the `.[gpu]` install:   python bench/gpu_check.py          ->  results/bench/gpu.json
Without a GPU, `--device cpu` runs every step on the CPU twice: a check of this script, not of a GPU.
"""

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

OUT = Path("results/bench/gpu.json")
SIZE = {"max_images": 300, "recordings_per_image": 1}
NETWORKS = {"aegnn": {"preset": "ncars", "pool_voxel": [8, 8]},
            "ecn": {"preset": "digits", "dropout_rate": 0.2, "batchnorm_momentum": 0.9}}
TRAINING = {"aegnn": {"epochs": 1, "batch_size": 16, "warmup_epochs": 1}, "ecn": {"epochs": 1, "lr": 0.003}}
LOSS_TOLERANCE, ACCURACY_TOLERANCE = 0.01, 0.02


def prepare(folder: Path) -> dict:
    """The digits events store and both families' caches (default presets) in ``folder``: {family: cache path}."""
    from evrepro.datasets import stages
    from evrepro.graphs.params import PRESETS as GRAPH_PRESETS
    from evrepro.graphs.store import build_graph_store
    from evrepro.streams.params import PRESETS as STREAM_PRESETS
    from evrepro.streams.store import build_stream_store

    block = {"generator": SIZE, "val_fraction": 0.1, "split_seed": 0}
    manifest = stages.fetch("digits", block, folder / "archives" / "manifest.json", progress=False)
    stages.extract(manifest, folder / "raw", progress=False)
    stages.build_events("digits", block, manifest, folder / "raw", folder / "digits.h5", folder / "splits.json",
                        progress=False)
    caches = {"aegnn": folder / "graphs.h5", "ecn": folder / "streams.h5"}
    build_graph_store(folder / "digits.h5", caches["aegnn"], GRAPH_PRESETS["digits"], progress=False)
    build_stream_store(folder / "digits.h5", caches["ecn"], STREAM_PRESETS["digits"], progress=False)
    return caches


def train_once(family_name: str, cache: Path, folder: Path, device: str) -> dict:
    """One epoch of ``family_name`` on ``device`` in this process, its test metrics and the GPU's peak memory."""
    from evrepro.families import family as family_named
    from evrepro.families import trainer
    from evrepro.training.stages import TrainOutputs, evaluate_stage, train_stage

    family = trainer(family_name)
    best = folder / "checkpoints" / f"best{family_named(family_name).checkpoint_suffix}"
    outputs = TrainOutputs.of(best, folder / "history.csv", folder / "model.json", folder / "config.yaml")
    run = {"dataset": "digits", "network": NETWORKS[family_name], "training": TRAINING[family_name],
           "execution": {"device": device}}
    trained = train_stage(family, cache, outputs, "gpu_check", run, 0, threads=None, progress=False)
    metrics = evaluate_stage(family, cache, best, outputs.model, folder / "metrics.json", folder / "confusion.csv",
                             device=device)
    row = trained.history[-1]
    with family.store(cache) as store:  # ECN's stream cache holds augmented copies of train; an epoch reads one
        samples = store.num_samples("train") // getattr(store, "copies", lambda split: 1)("train")
    return {"device": trained.device, "samples_per_s": samples / row["seconds"], "epoch_s": row["seconds"],
            "train_loss": row["train_loss"], "test_accuracy": metrics.test_accuracy,
            "peak_gpu_memory_mb": _peak_gpu_memory_mb()}


def _peak_gpu_memory_mb() -> float | None:
    """The peak GPU memory of the framework this process loaded; None without a GPU."""
    if "torch" in sys.modules:
        import torch

        return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        return None
    return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20


def async_on(cache: Path, folder: Path, device: str) -> dict:
    """AEGNN's asynchronous evaluation of the trained model on ``device``: latency, MFLOP/ev, the largest difference."""
    from evrepro.aegnn.async_eval import evaluate_async

    result = evaluate_async(cache, folder / "checkpoints" / "best.pt", folder / "model.json", folder / "async.json",
                            folder / "score_vs_events.csv", max_streams=2, check_every=100, device=device,
                            threads=1)
    return {"latency_ms_per_event": asdict(result.latency_ms_per_event), "mflops_per_event": asdict(result.flops),
            "max_abs_difference": asdict(result.max_abs_difference)}


def child(arguments) -> dict:
    """One measurement in this process (``--child``): a training, or the asynchronous evaluation."""
    folder = Path(arguments.folder)
    if arguments.child == "async":
        return async_on(Path(arguments.cache), folder, arguments.device)
    return train_once(arguments.child, Path(arguments.cache), folder, arguments.device)


def in_fresh_process(what: str, cache: Path, folder: Path, device: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", what, "--cache", str(cache), "--folder", str(folder),
                           "--device", device], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} on {device} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(device: str) -> dict:
    began = time.perf_counter()
    result = {"machine": platform.node(), "device_asked": device, "size": SIZE,
              "tolerance": {"train_loss_relative": LOSS_TOLERANCE, "test_accuracy": ACCURACY_TOLERANCE}}
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        caches = prepare(folder)
        for family_name in ("aegnn", "ecn"):
            cpu = in_fresh_process(family_name, caches[family_name], folder / family_name / "cpu", "cpu")
            other = in_fresh_process(family_name, caches[family_name], folder / family_name / device, device)
            agree = (abs(other["train_loss"] - cpu["train_loss"]) <= LOSS_TOLERANCE * abs(cpu["train_loss"])
                     and abs(other["test_accuracy"] - cpu["test_accuracy"]) <= ACCURACY_TOLERANCE)
            result[family_name] = {"cpu": cpu, "checked": other, "agrees_with_cpu": agree,
                                   "speedup": other["samples_per_s"] / cpu["samples_per_s"]}
        result["aegnn"]["async"] = in_fresh_process("async", caches["aegnn"], folder / "aegnn" / device, device)
    result["seconds"] = time.perf_counter() - began
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["gpu", "cpu"], default="gpu")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        print(json.dumps(child(arguments)))
    else:
        print(json.dumps(main(arguments.device), indent=2))
