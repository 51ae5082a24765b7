"""Decode throughput per event-file format: evrepro's readers side by side with tonic, expelliarmus and evlib.

For each format evrepro reads, one file is written with evrepro's writer (10 M events; 2 M for the slower ASL-DVS
``.mat``) and decoded into an array in memory by evrepro and, in the same run, by every library reader offered for
that format. Per reader: the best of 5 rounds that call the format's readers in turn, events/s, the ratio evrepro ÷
library, and whether its events equal evrepro's (t, x, y, p, after the library's own axis conventions). A reader that
fails is recorded with its error instead of a number; a library with no reader for a format is listed under
``not_offered``.

Per reader also its peak memory (Linux): in a fresh process, after a warm-up call, how far one call raises the peak
resident size above the size before it, and how much of that the returned events take. Per format, evrepro's first
calls in fresh processes: with numba's cache empty (the kernels compile), then with it filled.

Needs the ``bench`` extra: .venv/bin/pip install -c constraints.txt -e .[bench]
Run: .venv/bin/python bench/bench_formats.py [--scale 0.01]   ->  results/bench/formats.json
"""

import argparse
import gc
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from resident import CLEAR_REFS, PeakRise

from evrepro.events import make_events, read, write
from evrepro.events.prophesee import read_prophesee_dat_blocks, write_prophesee_dat

OUT = Path("results/bench/formats.json")
REPEATS = 5
LIBRARIES = ("evrepro", "tonic", "expelliarmus", "evlib", "numpy", "scipy", "polars")


def best_in_turns(functions: list, path: Path, last_result) -> list[float | str]:
    """Each function's shortest time on ``path`` over ``REPEATS`` rounds that call every function once in turn, so
    that a change of load on a shared machine hits all alike; ``last_result(i, result)`` sees each one's last result.
    A function that raises is dropped, its error in place of a time."""
    outcomes = [math.inf] * len(functions)
    for repeat in range(REPEATS):
        for i, function in enumerate(functions):
            if isinstance(outcomes[i], str):
                continue
            try:
                start = time.perf_counter()
                result = function(path)
                seconds = time.perf_counter() - start
            except Exception as error:  # noqa: BLE001 -- a library that cannot read the file is a result, not a crash
                outcomes[i] = f"{type(error).__name__}: {error}"
                continue
            outcomes[i] = min(outcomes[i], seconds)
            if repeat == REPEATS - 1:
                last_result(i, result)
            del result
    return outcomes


def output_bytes(result) -> int:
    """The memory a reader's result takes: an array, a list of arrays, or a polars DataFrame."""
    if isinstance(result, list):
        return sum(block.nbytes for block in result)
    return result.nbytes if isinstance(result, np.ndarray) else result.estimated_size()


def peak_of_call(name: str, path: str) -> dict:
    """In this process: how far one call of this module's ``name`` on ``path`` raises the peak resident size, after a
    warm-up call (numba's set-up and caches, the library's imports)."""
    function = globals()[name]
    function(path)
    gc.collect()
    with PeakRise() as rise:
        result = function(path)
    peak, output = rise.bytes / 2**20, output_bytes(result) / 2**20
    return {"peak_mib": peak, "output_mib": output, "peak_beyond_output_mib": peak - output}


def memory(function, path: Path) -> dict | str:
    """``peak_of_call`` in a fresh process, where Linux lets a process reset its peak resident size."""
    if not CLEAR_REFS.exists():
        return "not measured: needs Linux /proc/self/clear_refs"
    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_formats; "
            f"print(json.dumps(bench_formats.peak_of_call({function.__name__!r}, {str(path)!r})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


FIRST_CALLS = ("import time; t0 = time.perf_counter(); from evrepro.events import read; t1 = time.perf_counter(); "
               "read({path!r}); t2 = time.perf_counter(); read({path!r}); t3 = time.perf_counter(); "
               "print(t1 - t0, t2 - t1, t3 - t2)")


def first_calls(path: Path) -> dict:
    """Seconds to import ``evrepro.events`` and for the first and second ``read(path)`` in a fresh process, once with
    an empty numba cache (the kernels compile) and once with the cache that run filled."""
    result = {}
    with tempfile.TemporaryDirectory() as cache:
        for run in ("empty_cache", "filled_cache"):
            done = subprocess.run([sys.executable, "-c", FIRST_CALLS.format(path=str(path))], capture_output=True,
                                  text=True, check=True, env=os.environ | {"NUMBA_CACHE_DIR": cache})
            seconds = [float(value) for value in done.stdout.split()]
            result[run] = dict(zip(("import_s", "first_read_s", "second_read_s"), seconds))
    return result


def columns(t, x, y, p) -> dict[str, np.ndarray]:
    """Event columns as int64 arrays, for comparing readers whatever their dtypes."""
    return {name: np.asarray(value).reshape(-1).astype(np.int64) for name, value in zip("txyp", (t, x, y, p))}


def same(reference: dict, found: dict) -> bool:
    """Whether two readers' columns are equal, event by event."""
    return all(np.array_equal(reference[name], found[name]) for name in reference)


def generated_events(n: int, sensor: tuple[int, int], duration_us: int, rng) -> np.ndarray:
    """``n`` events spread uniformly over the sensor and ``duration_us``, sorted by time."""
    return make_events(np.sort(rng.integers(0, duration_us, n)), rng.integers(0, sensor[0], n),
                       rng.integers(0, sensor[1], n), rng.integers(0, 2, n))


def tonic_mnist(path):
    """tonic's N-MNIST / N-Caltech101 reader with the dtype those datasets use."""
    import tonic

    return tonic.io.read_mnist_file(str(path), dtype=tonic.datasets.NMNIST.dtype)


def tonic_dvs128(path):
    """tonic's AEDAT 2.0 DVS128 reader ``read_dvs_128``: events only."""
    import tonic

    return tonic.io.read_dvs_128(str(path))[1]


def tonic_dvs128_steps(path):
    """The steps of ``read_dvs_128`` with its header call fixed: tonic 1.7's ``read_aedat_header_from_file``
    returns three values and ``read_dvs_128`` unpacks two."""
    import tonic

    version, start, _ = tonic.io.read_aedat_header_from_file(str(path))
    events = tonic.io.get_aer_events_from_file(str(path), version, start)
    address = events["address"]
    return tonic.io.make_structured_array((address >> 8) & 0x7F, (address >> 1) & 0x7F, events["timeStamp"],
                                          address & 1)


def tonic_asl_dvs(path):
    """The body of tonic's ``ASLDVS.__getitem__`` without transforms: scipy's loadmat, y flipped to the top row."""
    import scipy.io
    import tonic

    contents = scipy.io.loadmat(str(path))
    height = tonic.datasets.ASLDVS.sensor_size[1]
    return tonic.io.make_structured_array(contents["ts"], contents["x"], height - 1 - contents["y"], contents["pol"],
                                          dtype=tonic.datasets.ASLDVS.dtype)


def expelliarmus_dat(path):
    """expelliarmus' C reader for Prophesee ``.dat`` (Event2D)."""
    from expelliarmus import Wizard

    return Wizard(encoding="dat").read(path)


def evlib_events(path):
    """evlib's Rust loader, collected into a polars DataFrame (columns x, y, t, polarity)."""
    import evlib

    return evlib.load_events(str(path), sort=False).collect()


def evlib_columns(frame):
    return columns(frame["t"].dt.total_microseconds(), frame["x"], frame["y"], frame["polarity"] > 0)


def evrepro_dat_blocks(path):
    """evrepro's streaming ``.dat`` reader: every block (4 M events) decoded, kept as a list."""
    return list(read_prophesee_dat_blocks(path))


def plain(events):
    return columns(events["t"], events["x"], events["y"], events["p"])


def transposed(events):
    return columns(events["t"], events["y"], events["x"], events["p"])


EVLIB = "t as a µs duration, polarity -1/1: compared as polarity > 0"
TRANSPOSED = ("x from address bits 8-14 and y from bits 1-7: transposed against jAER's DVS128 addressing; "
              "compared with x and y swapped")


@dataclass(frozen=True)
class Format:
    """One file format: the file written, the readers timed on it, the libraries without a reader."""

    title: str
    file: str
    sensor: tuple[int, int]
    duration_us: int
    events: int  # at scale 1
    readers: tuple  # (library, reader, function, to evrepro's columns, convention) per library reader
    not_offered: dict[str, str]
    evrepro_extra: tuple = ()  # (reader, function, to columns) per further evrepro reader
    header: tuple[str, ...] | None = None  # Prophesee header lines
    note: str | None = None


OTHER_CAMERAS = "reads Prophesee dat/evt2/evt3 only"
FORMATS = {
    "atis_bin": Format(
        "ATIS .bin (N-MNIST, N-Caltech101)", "recording.bin", (240, 180), 8_000_000, 10_000_000,
        readers=(("tonic", "tonic.io.read_mnist_file", tonic_mnist, plain, "same"),
                 ("evlib", "evlib.load_events", evlib_events, evlib_columns, EVLIB)),
        not_offered={"expelliarmus": OTHER_CAMERAS},
        note="timestamps within 2^23 µs like N-MNIST and N-Caltech101 recordings, so no overflow markers"),
    "prophesee_dat": Format(
        "Prophesee Event2D .dat (N-CARS, Gen1)", "recording_td.dat", (304, 240), 60_000_000, 10_000_000,
        readers=(("expelliarmus", "expelliarmus.Wizard(encoding='dat').read", expelliarmus_dat, plain, "same"),
                 ("evlib", "evlib.load_events", evlib_events, evlib_columns, EVLIB)),
        not_offered={"tonic": "tonic 1.7 has no Prophesee .dat reader (no N-CARS or Gen1 dataset)"},
        evrepro_extra=(("evrepro.events.prophesee.read_prophesee_dat_blocks", evrepro_dat_blocks,
                        lambda blocks: plain(np.concatenate(blocks))),),
        header=("Date 2019-01-01 00:00:00", "Version 2", "Width 304", "Height 240")),
    "aedat2_dvs128": Format(
        "AEDAT 2.0, DVS128 addressing (CIFAR10-DVS, MNIST-DVS)", "recording.aedat", (128, 128), 60_000_000,
        10_000_000,
        readers=(("tonic", "tonic.io.read_dvs_128", tonic_dvs128, transposed, TRANSPOSED),
                 ("tonic", "tonic.io.read_dvs_128's steps, header call fixed", tonic_dvs128_steps, transposed,
                  TRANSPOSED),
                 ("evlib", "evlib.load_events", evlib_events, evlib_columns, EVLIB)),
        not_offered={"expelliarmus": OTHER_CAMERAS}),
    "asl_dvs_mat": Format(
        "ASL-DVS MATLAB v5 .mat", "recording.mat", (240, 180), 60_000_000, 2_000_000,
        readers=(("tonic", "tonic.datasets.ASLDVS.__getitem__ (scipy.io.loadmat)", tonic_asl_dvs,
                  lambda e: columns(e["t"], e["x"], 179 - e["y"], e["p"]),
                  "y flipped (179 - y) and an N×1 array; compared with y flipped back"),),
        not_offered={"expelliarmus": OTHER_CAMERAS,
                     "evlib": "no MATLAB reader (its formats: text, HDF5, AER, AEDAT 1-4, EVT2/2.1/3)"}),
}


def write_file(path: Path, spec: Format, events: np.ndarray) -> None:
    """Write ``events`` as a file of ``spec``'s format."""
    if spec.header:
        write_prophesee_dat(path, events, spec.header)
    else:
        write(path, events)


def measure(name: str, spec: Format, folder: Path, scale: float, rng) -> dict:
    """Write one file of format ``name`` and time every reader on it; a small one for evrepro's first calls."""
    path = folder / spec.file
    events = generated_events(max(1000, int(spec.events * scale)), spec.sensor, spec.duration_us, rng)
    write_file(path, spec, events)
    small = folder / f"small_{spec.file}"
    write_file(small, spec, events[:1000])
    readers = ([("evrepro", "evrepro.events.read", read, plain, None)]
               + [("evrepro", reader, function, to_columns, None) for reader, function, to_columns in spec.evrepro_extra]
               + list(spec.readers))
    reference, equal = plain(events), {}

    def compare(i, result):
        equal[i] = same(reference, readers[i][3](result))

    outcomes = best_in_turns([function for _, _, function, _, _ in readers], path, compare)
    assert equal.get(0), f"{name}: evrepro does not read back what it wrote: {outcomes[0]}"
    entries = []
    for i, ((library, reader, function, _, convention), outcome) in enumerate(zip(readers, outcomes)):
        entry = {"library": library, "reader": reader}
        if isinstance(outcome, str):
            entry["error"] = outcome
        else:
            entry |= {"seconds": outcome, "million_events_per_s": events.size / outcome / 1e6}
            if library != "evrepro":
                entry |= {"evrepro_ratio": outcome / outcomes[0], "convention": convention}
            entry |= ({"equal": equal[i]} if i else {}) | {"memory": memory(function, path)}
        entries.append(entry)
    return {"title": spec.title, "events": int(events.size), "bytes": path.stat().st_size,
            "sensor": list(spec.sensor), "readers": entries, "not_offered": spec.not_offered,
            "evrepro_first_calls": {"events": 1000, **first_calls(small)},
            **({"note": spec.note} if spec.note else {})}


def main(scale: float = 1.0) -> dict:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        formats = {name: measure(name, spec, Path(folder), scale, rng) for name, spec in FORMATS.items()}
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version()},
        "versions": {name: importlib.metadata.version(name) for name in LIBRARIES},
        "repeats": f"best of {REPEATS} rounds, each calling a format's readers in turn",
        "ratio": "evrepro.events.read events/s ÷ the library's",
        "memory": "MiB, one call in a fresh process after a warm-up call: its raise of the peak resident size, the "
                  "returned events' size, and the difference",
        "formats": formats,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the default event counts (quick check)")
    print(json.dumps(main(parser.parse_args().scale), indent=2))
