"""ECN benchmark: stream preprocessing rate, training throughput and memory across epochs.

Run: .venv/bin/python bench/bench_ecn.py   ->  results/bench/ecn.json
- preprocessing: the N-MNIST configuration on the real N-MNIST recording of tests/data/real, and the
  N-Caltech101 configuration (pooling 2, 5 levels) on a synthetic 300,000-event, 300 ms stream on 240×180;
- training: the digits default run's network (N-MNIST's: 32 filters, 3 levels) on a stream cache of 600
  generated digits recordings, batches of 32, with the process's resident memory sampled every 0.2 s:
  its peak per epoch over 24 epochs shows whether memory stays flat.
"""

import json
import platform
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from evrepro.datasets import stages
from evrepro.events import make_events, read
from evrepro.streams.params import PRESETS
from evrepro.streams.preprocess import preprocess_stream
from evrepro.streams.store import build_stream_store

OUT = Path("results/bench/ecn.json")
NMNIST = Path(__file__).resolve().parents[1] / "tests/data/real/nmnist/sample_nmnist.bin"


def per_second(function, minimum_s=3.0) -> float:
    """Calls per second of ``function``, repeated for at least ``minimum_s``."""
    function()
    calls, began = 0, time.perf_counter()
    while time.perf_counter() - began < minimum_s:
        function()
        calls += 1
    return calls / (time.perf_counter() - began)


def bench_preprocessing() -> dict:
    nmnist = read(NMNIST)
    rng = np.random.default_rng(0)
    n = 300_000
    caltech = make_events(np.sort(rng.integers(0, 300_000, n)), rng.integers(0, 240, n), rng.integers(0, 180, n),
                          rng.integers(0, 2, n))
    result = {}
    for name, events, sensor, preset in (("nmnist", nmnist, (34, 34), "nmnist"),
                                         ("ncaltech101", caltech, (240, 180), "ncaltech101")):
        sample = preprocess_stream(events, sensor, PRESETS[preset])
        result[name] = {"events": int(events.size),
                        "level_events": [int(stream.times.size) for stream in sample.streams],
                        "neighbours": int(sum(conv.indices.size for conv in sample.convs.values())),
                        "samples_per_s": per_second(lambda e=events, s=sensor, p=preset:
                                                    preprocess_stream(e, s, PRESETS[p]))}
    return result


class MemorySampler:
    """Resident memory of this process, sampled in a background thread."""

    def __init__(self, interval_s=0.2):
        self.samples, self.interval_s, self._stop = [], interval_s, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            pages = int(Path("/proc/self/statm").read_text().split()[1])
            self.samples.append((time.perf_counter(), pages * 4096 / 1e6))
            time.sleep(self.interval_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def bench_training(epochs=24) -> dict:
    from evrepro.ecn.presets import ECNConfig
    from evrepro.ecn.train import TrainConfig, train_run
    from evrepro.training.execution import Execution

    config = {"generator": {"max_images": 300, "recordings_per_image": 2}, "val_fraction": 0.1, "split_seed": 0}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        manifest = stages.fetch("digits", config, root / "archives" / "manifest.json", progress=False)
        stages.extract(manifest, root / "raw", progress=False)
        stages.build_events("digits", config, manifest, root / "raw", root / "events.h5", root / "splits.json",
                            progress=False)
        build_stream_store(root / "events.h5", root / "streams.h5", PRESETS["digits"], progress=False)
        model = ECNConfig(num_classes=10, level_shapes=((34, 34), (17, 17), (9, 9), (5, 5)), filters0=32,
                          vox_start=0, dropout_rate=0.2, batchnorm_momentum=0.9)
        training = TrainConfig(epochs=epochs, batch_size=32, lr=3e-3)
        began = time.perf_counter()
        with MemorySampler() as memory:
            trained = train_run(root / "streams.h5", root / "run" / "best.npz", model, training, seed=0,
                                execution=Execution.of(None, "ecn"), progress=False)
        history = pd.DataFrame(trained.history)
        from evrepro.streams.store import StreamStore

        with StreamStore(root / "streams.h5") as store:
            train_samples = store.num_samples("train")
    ends = began + np.cumsum(history["seconds"].to_numpy())
    starts = np.concatenate([[began], ends[:-1]])
    peaks = [max(rss for t, rss in memory.samples if a <= t <= b) for a, b in zip(starts, ends)]
    return {"network": "digits/N-MNIST vox-pool, 1,849,490 parameters", "batch_size": 32,
            "train_samples": train_samples, "epochs": epochs,
            "samples_per_s": [train_samples / s for s in history["seconds"]],
            "peak_rss_mb_per_epoch": peaks, "note": "epoch time includes the validation pass"}


def main() -> dict:
    import tensorflow as tf

    result = {"machine": {"cpu": platform.processor() or platform.machine(),
                          "tensorflow": tf.__version__, "threads": "TensorFlow default"},
              "preprocessing": bench_preprocessing(), "training": bench_training()}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
