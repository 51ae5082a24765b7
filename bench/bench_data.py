"""Data-path benchmark: digits recording rate, ATIS decoding rate, events-store random reads.

Run: .venv/bin/python bench/bench_data.py   ->  results/bench/data.json
"""

import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from evrepro.datasets import digits
from evrepro.datasets.store import EventsStore, write_events_store
from evrepro.events.atis import decode_atis, encode_atis

OUT = Path("results/bench/data.json")


def best_of(function, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> dict:
    params = digits.DigitsParams(max_images=100, recordings_per_image=2)
    list(digits.recordings(digits.DigitsParams(max_images=1, recordings_per_image=1)))  # compile numba
    samples = []
    seconds = best_of(lambda: samples.__setitem__(slice(None), list(digits.recordings(params))), repeats=2)
    n_events = sum(events.size for *_, events in samples)

    stream = np.concatenate([events for *_, events in samples])
    stream["t"] = np.sort(stream["t"])
    raw = encode_atis(stream)
    decode_seconds = best_of(lambda: decode_atis(raw))

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.h5"
        write_seconds = best_of(lambda: write_events_store(
            path, iter(samples * 5), sensor_size=(34, 34), class_names=list("0123456789"), source={}, params={}),
            repeats=1)
        with EventsStore(path) as store:
            n = store.num_samples("Train")
            order = np.random.default_rng(0).integers(0, n, 500)
            read_seconds = best_of(lambda: [store.sample("Train", int(i)) for i in order])

    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version()},
        "digits_recordings_per_s": len(samples) / seconds,
        "digits_events_per_sample": n_events / len(samples),
        "atis_decode_million_events_per_s": stream.size / decode_seconds / 1e6,
        "store_write_samples_per_s": 5 * len(samples) / write_seconds,
        "store_random_sample_read_ms": 1000 * read_seconds / order.size,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
