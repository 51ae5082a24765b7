"""AEGNN benchmark: SplineConv forward+backward and GraphRes training at the papers' presets, side by side with PyG's
compiled SplineConv (torch-spline-conv, the backend AEGNN used) when it imports.

Per preset (N-CARS: 10,000 nodes, r 3, kernel 2, 16→16; N-Caltech101: 25,000 nodes, r 5, kernel 8, 32→32), on the
capped radius graph of a synthetic stream of the paper's size (uniform in space, sorted in time):

- ``spline_conv``: one convolution, forward and backward of ``sum(y · cotangent)``, preparing the graph included (a
  convolution on a new graph needs it), for evrepro and for ``torch_geometric.nn.SplineConv`` with the same weights;
  best time, peak memory of one step, the ratio evrepro ÷ reference, and the largest difference of y and of every
  gradient. The edge-wise need is what an edge-wise layout holds at least: one basis-weighted feature row per edge
  and kernel corner (E · 2^dim · C_in) plus the input and output features (N · (C_in + C_out)), in float32.
- ``training``: GraphRes with the preset's layers, a batch of 8 samples, Adam: samples/s and peak memory of a step.

Every measurement runs in a fresh process (``--case``), with glibc's mmap threshold fixed so that freed buffers leave
the resident size. After a warm-up step, peak memory is how far the first timed step raises the peak resident size
(reset right before it through /proc/self/clear_refs) above the size before it; on CUDA, the rise of
``torch.cuda.max_memory_allocated`` over that step, with times taken after ``torch.cuda.synchronize``.

Run: .venv/bin/python bench/bench_aegnn.py [--device cuda]   ->  results/bench/aegnn.json
The reference needs torch-spline-conv, built from source by bench/reference-venv.sh (then run this script with
.venv-reference/bin/python); without it only evrepro is measured.
"""

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from paper_streams import PAPER_STREAMS, synthetic_stream
from resident import PeakRise

from evrepro.aegnn.graph_res import GraphRes
from evrepro.aegnn.presets import PRESET_LAYERS, GraphResConfig
from evrepro.aegnn.spline_conv import SplineConv, cartesian_pseudo, spline_graph
from evrepro.graphs.params import PRESETS
from evrepro.graphs.preprocess import event_graph

OUT = Path("results/bench/aegnn.json")
SPLINE = {"ncars": (2, 16), "ncaltech101": (8, 32)}  # preset: (kernel size, channels) of the benchmarked conv
BATCH = 8
MIN_TIMING_S = 10.0  # repeat a step until 3 runs or this long


def preset_graph(preset: str, seed: int = 0):
    """(pos, x, edge_index) tensors of one sample at the preset's graph size."""
    pos, x, edges = event_graph(synthetic_stream(preset, seed), PRESETS[preset], np.random.default_rng(seed))
    return torch.from_numpy(pos), torch.from_numpy(x), torch.from_numpy(edges.astype(np.int64))


def measure(step, device: torch.device) -> dict:
    """After a warm-up step: the best time of up to 3 steps (fewer past MIN_TIMING_S) and the first one's peak memory."""
    def synchronise():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    step()
    synchronise()
    times, peak, started = [], None, time.perf_counter()
    while len(times) < 3 and (not times or time.perf_counter() - started < MIN_TIMING_S):
        if peak is None and device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
            before = torch.cuda.memory_allocated(device)
        rise = PeakRise() if peak is None and device.type != "cuda" else contextlib.nullcontext()
        start = time.perf_counter()
        with rise:
            step()
            synchronise()
        times.append(time.perf_counter() - start)
        if peak is None:
            peak = torch.cuda.max_memory_allocated(device) - before if device.type == "cuda" else rise.bytes
    return {"seconds": min(times), "runs": len(times), "peak_bytes": peak}


def pyg_spline_conv(ours: SplineConv):
    """torch_geometric.nn.SplineConv (compiled backend) with our layer's weights."""
    from torch_geometric.nn import SplineConv as PygSplineConv

    theirs = PygSplineConv(ours.in_channels, ours.out_channels, dim=ours.dim, kernel_size=ours.kernel_size,
                           is_open_spline=True, degree=1, aggr="mean", root_weight=True, bias=True)
    with torch.no_grad():
        theirs.weight.copy_(ours.weight)
        theirs.lin.weight.copy_(ours.root.t())
        theirs.bias.copy_(ours.bias)
    return theirs.to(ours.weight.device)


def spline_case(preset: str, implementation: str, device: torch.device, outputs: Path) -> dict:
    kernel, channels = SPLINE[preset]
    pos, _, edge_index = preset_graph(preset)
    torch.manual_seed(0)
    ours = SplineConv(channels, channels, 3, kernel)
    with torch.no_grad():
        torch.nn.init.normal_(ours.bias)
    conv = ours.to(device) if implementation == "evrepro" else pyg_spline_conv(ours.to(device))
    pos, edge_index = pos.to(device), edge_index.to(device)
    inputs = torch.Generator().manual_seed(1)  # the same x and cotangent whatever the layer's own initialisation drew
    x = torch.randn(pos.shape[0], channels, generator=inputs).to(device).requires_grad_(True)
    cotangent = torch.randn(pos.shape[0], channels, generator=inputs).to(device)
    pseudo = cartesian_pseudo(pos, edge_index, PRESETS[preset].radius)

    def step():
        x.grad = None
        conv.zero_grad()
        y = conv(x, edge_index, pseudo)
        (y * cotangent).sum().backward()
        return y

    result = measure(step, device)
    y = step()
    gradients = {"x": x.grad, "weight": conv.weight.grad, "bias": conv.bias.grad,
                 "root": conv.root.grad if implementation == "evrepro" else conv.lin.weight.grad.t()}
    np.savez(outputs, y=y.detach().cpu().numpy(), **{k: v.cpu().numpy() for k, v in gradients.items()})
    graph = spline_graph(edge_index, pseudo, pos.shape[0], kernel, trim=True)
    rows = int((graph.gather.crow_indices().diff() > 0).sum())
    edges, corners = edge_index.shape[1], 2**3
    return {**result, "nodes": pos.shape[0], "edges": edges, "kernel_size": kernel, "channels": channels,
            "rows_reached": rows, "edgewise_need_bytes": 4 * (edges * corners * channels + pos.shape[0] * 2 * channels)}


def batch_of(preset: str, device: torch.device):
    graphs = [preset_graph(preset, seed) for seed in range(BATCH)]
    offsets = np.cumsum([0] + [g[0].shape[0] for g in graphs[:-1]])
    pos = torch.cat([g[0] for g in graphs]).to(device)
    x = torch.cat([g[1] for g in graphs]).to(device)
    edges = torch.cat([g[2] + int(o) for g, o in zip(graphs, offsets)], dim=1).to(device)
    batch = torch.repeat_interleave(torch.arange(BATCH), torch.tensor([g[0].shape[0] for g in graphs])).to(device)
    return pos, x, edges, batch


def training_case(preset: str, device: torch.device) -> dict:
    width, height, _, _, classes = PAPER_STREAMS[preset]
    layers = PRESET_LAYERS[preset]
    config = GraphResConfig(num_classes=classes, sensor_size=(width, height), edge_scale=PRESETS[preset].radius,
                            kernel_size=layers["kernel_size"], channels=tuple(layers["channels"]))
    torch.manual_seed(0)
    model = GraphRes(config).to(device)
    optimizer = torch.optim.Adam(model.parameters())
    pos, x, edges, batch = batch_of(preset, device)
    labels = (torch.arange(BATCH) % classes).to(device)

    def step():
        loss = torch.nn.functional.cross_entropy(model(x, pos, edges, batch, BATCH), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    result = measure(step, device)
    return {**result, "batch_size": BATCH, "nodes": pos.shape[0], "edges": edges.shape[1],
            "samples_per_s": BATCH / result["seconds"]}


def run_case(case: str, device: str) -> dict:
    """One measurement in a fresh process; its JSON result (or the error it ended with)."""
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}  # a fixed threshold: freed buffers leave the RSS
    with tempfile.TemporaryDirectory() as folder:
        outputs = Path(folder) / "outputs.npz"
        done = subprocess.run([sys.executable, __file__, "--case", case, "--device", device, "--outputs", str(outputs)],
                              check=False, capture_output=True, text=True, env=env)
        if done.returncode:
            return {"error": (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]}
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if outputs.exists():
            with np.load(outputs) as saved:
                result["outputs"] = {key: saved[key] for key in saved.files}
    return result


def agreement(ours: dict, theirs: dict) -> dict:
    """Largest absolute difference of y and of each gradient, relative to the reference's largest magnitude."""
    return {key: float(np.abs(ours[key] - theirs[key]).max() / max(np.abs(theirs[key]).max(), 1e-30))
            for key in ours}


def bench_spline_conv(device: str) -> dict:
    result = {}
    for preset in SPLINE:
        ours = run_case(f"spline:{preset}:evrepro", device)
        theirs = run_case(f"spline:{preset}:torch_spline_conv", device) if reference_version() else None
        entry = {"evrepro": {k: v for k, v in ours.items() if k != "outputs"}}
        if "seconds" in ours:
            entry["peak_over_edgewise_need"] = ours["peak_bytes"] / ours["edgewise_need_bytes"]
        if theirs is not None:
            entry["torch_spline_conv"] = {k: v for k, v in theirs.items() if k != "outputs"}
            if "seconds" in ours and "seconds" in theirs:
                entry["time_ratio"] = ours["seconds"] / theirs["seconds"]
                entry["peak_memory_ratio"] = ours["peak_bytes"] / theirs["peak_bytes"]
                entry["relative_difference"] = agreement(ours["outputs"], theirs["outputs"])
        result[preset] = entry
    return result


def reference_version() -> str | None:
    try:
        import torch_spline_conv  # noqa: F401  (imports the compiled backend)
        return importlib.metadata.version("torch-spline-conv")
    except ImportError:
        return None


def main(device: str) -> dict:
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                    "device": device, "torch": torch.__version__,
                    "torch_geometric": importlib.metadata.version("torch-geometric"),
                    "torch_spline_conv": reference_version() or "not importable: not compared"},
        "spline_conv": bench_spline_conv(device),
        "training": {preset: run_case(f"train:{preset}", device) for preset in PAPER_STREAMS},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    return result


def child(case: str, device: str, outputs: Path) -> dict:
    kind, preset, *implementation = case.split(":")
    if kind == "spline":
        return spline_case(preset, implementation[0], torch.device(device), outputs)
    return training_case(preset, torch.device(device))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--outputs", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.case:
        print(json.dumps(child(arguments.case, arguments.device, arguments.outputs)))
    else:
        print(json.dumps(main(arguments.device), indent=2))
