"""Peak memory and throughput of conversion (the events stage) against the raw size of a dataset.

For each size, an N-CARS-layout folder of Prophesee ``.dat`` recordings (100 k–1 M events each, 120×100) is
written to a temporary folder and converted by ``evrepro.datasets.stages`` (fetch of the extracted local copy,
extract, ``build_events``) in a fresh child process, with 1 and with 2 workers. The parent polls the resident size
of the child and its worker processes together (every 50 ms) and keeps the peak and the median; the kernel's
largest resident size of any one of them (``wait4``) is recorded too. Memory that does not grow with the raw size
is the point: the JSON gives the ratio of the peak at the largest size to the peak at the smallest. The data are
deleted after each size; the recordings are converted from the page cache, as right after an extraction.

Run: .venv/bin/python bench/bench_conversion.py [--sizes-gb 0.05 0.1]   ->  results/bench/conversion.json
"""

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

OUT = Path("results/bench/conversion.json")
SIZES_GB = (0.25, 1.0, 2.2)
WORKERS = (1, 2)
SENSOR = (120, 100)
CONFIG = {"val_fraction": 0.1, "split_seed": 0, "test_fraction": 0.1}


def write_dataset(root: Path, raw_bytes: float, rng) -> tuple[int, int, int]:
    """Write recordings until they hold ``raw_bytes``; return (recordings, events, bytes)."""
    from evrepro.events import make_events
    from evrepro.events.prophesee import write_prophesee_dat

    recordings = events = written = 0
    while written < raw_bytes:
        n = int(rng.integers(100_000, 1_000_001))
        split = "n-cars_test" if recordings % 5 == 4 else "n-cars_train"
        folder = root / split / ("cars" if recordings % 2 else "background")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"obj_{recordings:06d}_td.dat"
        write_prophesee_dat(path, make_events(np.cumsum(rng.integers(0, 20, n)), rng.integers(0, SENSOR[0], n),
                                              rng.integers(0, SENSOR[1], n), rng.integers(0, 2, n)))
        recordings, events, written = recordings + 1, events + n, written + path.stat().st_size
    return recordings, events, written


def convert(root: str, work: str, workers: int) -> None:
    """The child: the events stage on the extracted copy at ``root``; writes ``child.json`` into ``work``."""
    from evrepro.datasets import stages

    work, config = Path(work), {"root": root, **CONFIG}
    manifest = stages.fetch("ncars", config, work / "fetch.json", progress=False)
    stages.extract(manifest, work / "raw", progress=False)
    start = time.perf_counter()
    counts = stages.build_events("ncars", config, manifest, work / "raw", work / "ncars.h5", work / "splits.json",
                                 workers=workers, progress=False)
    seconds = time.perf_counter() - start
    (work / "child.json").write_text(json.dumps({"seconds": seconds, "samples": counts,
                                                 "store_bytes": (work / "ncars.h5").stat().st_size}))


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of ``process`` and its descendants (any that end meanwhile count as 0)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def measure(root: Path, work: Path, workers: int) -> dict:
    """Run ``convert`` in a fresh child process, polling its memory; return its timing and peaks."""
    work.mkdir()
    pid = os.posix_spawn(sys.executable, [sys.executable, __file__, "--child", str(root), str(work), str(workers)],
                         os.environ)
    process, samples = psutil.Process(pid), []
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        try:
            samples.append(tree_rss(process))
        except psutil.NoSuchProcess:  # exited between wait4 and the poll
            pass
        time.sleep(0.05)
    if code := os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"conversion with {workers} workers failed (exit status {code})")
    child = json.loads((work / "child.json").read_text())
    shutil.rmtree(work)
    return {"workers": workers, **child, "peak_rss_mb": max(samples) / 1e6, "median_rss_mb": np.median(samples) / 1e6,
            "max_process_rss_mb": usage.ru_maxrss / 1e3}


def main(sizes_gb=SIZES_GB) -> dict:
    rng = np.random.default_rng(0)
    sizes = []
    with tempfile.TemporaryDirectory(prefix="bench_conversion_") as folder:
        for size_gb in sizes_gb:
            root = Path(folder) / "ncars"
            start = time.perf_counter()
            recordings, events, raw_bytes = write_dataset(root, size_gb * 1e9, rng)
            entry = {"raw_bytes": raw_bytes, "recordings": recordings, "events": events,
                     "generation_s": time.perf_counter() - start, "runs": []}
            for workers in WORKERS:
                run = measure(root, Path(folder) / f"work{workers}", workers)
                run["million_events_per_s"] = events / run["seconds"] / 1e6
                entry["runs"].append(run)
                print(json.dumps({"raw_gb": raw_bytes / 1e9, **run}), flush=True)
            shutil.rmtree(root)
            sizes.append(entry)
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
                    "cores": os.cpu_count()},
        "dataset": "N-CARS layout, Prophesee Event2D .dat, 100k-1M events per recording, 120x100",
        "peak_rss": "sum of the resident sizes of the child and its workers, polled every 50 ms: peak and median",
        "sizes": sizes,
        "peak_rss_ratio_largest_vs_smallest": {
            str(workers): sizes[-1]["runs"][k]["peak_rss_mb"] / sizes[0]["runs"][k]["peak_rss_mb"]
            for k, workers in enumerate(WORKERS)},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-gb", type=float, nargs="+", default=SIZES_GB, help="raw sizes in GB (1e9 bytes)")
    parser.add_argument("--child", nargs=3, metavar=("ROOT", "WORK", "WORKERS"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        convert(arguments.child[0], arguments.child[1], int(arguments.child[2]))
    else:
        print(json.dumps(main(arguments.sizes_gb), indent=2))
