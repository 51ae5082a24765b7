"""Decode throughput per event-file format: evrepro's readers side by side with tonic, expelliarmus and evlib.

For each format evrepro reads, one file is written with evrepro's writer (10 M events; 2 M for the slower ASL-DVS
``.mat``) and decoded into an array in memory by evrepro and, in the same run, by every library reader offered for
that format. Per reader: best of 3, events/s, the ratio evrepro ÷ library, and whether its events equal evrepro's
(t, x, y, p, after the library's own axis conventions). A reader that fails is recorded with its error instead of a
number; a library with no reader for a format is listed under ``not_offered``.

Needs the ``bench`` extra: .venv/bin/pip install -c constraints.txt -e .[bench]
Run: .venv/bin/python bench/bench_formats.py [--scale 0.01]   ->  results/bench/formats.json
"""

import argparse
import importlib.metadata
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from evrepro.events import make_events, read, write
from evrepro.events.prophesee import read_prophesee_dat_blocks, write_prophesee_dat

OUT = Path("results/bench/formats.json")
LIBRARIES = ("evrepro", "tonic", "expelliarmus", "evlib", "numpy", "scipy", "polars")


def best_of(function, repeats=3):
    """(shortest of ``repeats`` timed calls in seconds, the last call's result)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def columns(t, x, y, p) -> dict[str, np.ndarray]:
    """Event columns as int64 arrays, for comparing readers whatever their dtypes."""
    return {name: np.asarray(value).reshape(-1).astype(np.int64) for name, value in zip("txyp", (t, x, y, p))}


def generated_events(n: int, sensor: tuple[int, int], duration_us: int, rng) -> np.ndarray:
    """``n`` events spread uniformly over the sensor and ``duration_us``, sorted by time."""
    return make_events(np.sort(rng.integers(0, duration_us, n)), rng.integers(0, sensor[0], n),
                       rng.integers(0, sensor[1], n), rng.integers(0, 2, n))


def tonic_mnist(path):
    """tonic's N-MNIST / N-Caltech101 reader with the dtype those datasets use."""
    import tonic

    return tonic.io.read_mnist_file(str(path), dtype=tonic.datasets.NMNIST.dtype)


def tonic_dvs128(path):
    """tonic's AEDAT 2.0 DVS128 reader (its DVS-Gesture-era ``read_dvs_128``): events only."""
    import tonic

    return tonic.io.read_dvs_128(str(path))[1]


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
    """evlib's Rust loader, collected into a polars DataFrame (x, y, t as µs duration, polarity -1/1)."""
    import evlib

    return evlib.load_events(str(path), sort=False).collect()


def evlib_columns(frame):
    return columns(frame["t"].dt.total_microseconds(), frame["x"], frame["y"], frame["polarity"] > 0)


def evrepro_dat_blocks(path):
    """evrepro's streaming ``.dat`` reader (4 M events per block), concatenated."""
    return np.concatenate(list(read_prophesee_dat_blocks(path)))


def plain(events):
    return columns(events["t"], events["x"], events["y"], events["p"])


# name -> file written, sensor (width, height), duration, events at scale 1, extra readers of evrepro, library
# readers as (library, reader, function, to evrepro's columns, convention), libraries without a reader
FORMATS = {
    "atis_bin": dict(
        title="ATIS .bin (N-MNIST, N-Caltech101)", file="recording.bin", sensor=(240, 180), duration_us=8_000_000,
        events=10_000_000, evrepro_extra=(),
        readers=(
            ("tonic", "tonic.io.read_mnist_file", tonic_mnist, plain, "same"),
            ("evlib", "evlib.load_events", evlib_events, evlib_columns, "polarity -1/1"),
        ),
        not_offered={"expelliarmus": "reads Prophesee dat/evt2/evt3 only"},
        note="timestamps within 2^23 µs like N-MNIST and N-Caltech101 recordings, so no overflow markers"),
    "prophesee_dat": dict(
        title="Prophesee Event2D .dat (N-CARS, Gen1)", file="recording_td.dat", sensor=(304, 240),
        duration_us=60_000_000, events=10_000_000,
        header=("Date 2019-01-01 00:00:00", "Version 2", "Width 304", "Height 240"),
        evrepro_extra=(("evrepro.events.prophesee.read_prophesee_dat_blocks", evrepro_dat_blocks),),
        readers=(
            ("expelliarmus", "expelliarmus.Wizard(encoding='dat').read", expelliarmus_dat, plain, "same"),
            ("evlib", "evlib.load_events", evlib_events, evlib_columns, "polarity -1/1"),
        ),
        not_offered={"tonic": "tonic 1.7 has no Prophesee .dat reader (no N-CARS or Gen1 dataset)"}),
    "aedat2_dvs128": dict(
        title="AEDAT 2.0, DVS128 addressing (CIFAR10-DVS, MNIST-DVS)", file="recording.aedat", sensor=(128, 128),
        duration_us=60_000_000, events=10_000_000, evrepro_extra=(),
        readers=(
            ("tonic", "tonic.io.read_dvs_128", tonic_dvs128,
             lambda e: columns(e["t"], e["y"], e["x"], e["p"]),
             "x from address bits 8-14 and y from bits 1-7: transposed against jAER's DVS128 addressing; "
             "compared with x and y swapped"),
            ("evlib", "evlib.load_events", evlib_events, evlib_columns, "polarity -1/1"),
        ),
        not_offered={"expelliarmus": "reads Prophesee dat/evt2/evt3 only"}),
    "asl_dvs_mat": dict(
        title="ASL-DVS MATLAB v5 .mat", file="recording.mat", sensor=(240, 180), duration_us=60_000_000,
        events=2_000_000, evrepro_extra=(),
        readers=(
            ("tonic", "tonic.datasets.ASLDVS.__getitem__ (scipy.io.loadmat)", tonic_asl_dvs,
             lambda e: columns(e["t"], e["x"], 179 - e["y"], e["p"]),
             "y flipped (179 - y) and an N×1 array; compared with y flipped back"),
        ),
        not_offered={"expelliarmus": "reads Prophesee dat/evt2/evt3 only",
                     "evlib": "no MATLAB reader (its formats: text, HDF5, AER, AEDAT 1-4, EVT2/2.1/3)"}),
}


def measure(name: str, spec: dict, folder: Path, scale: float, rng) -> dict:
    """Write one file of format ``name`` and time every reader on it."""
    path = folder / spec["file"]
    events = generated_events(max(1000, int(spec["events"] * scale)), spec["sensor"], spec["duration_us"], rng)
    if "header" in spec:
        write_prophesee_dat(path, events, spec["header"])
    else:
        write(path, events)
    seconds, decoded = best_of(lambda: read(path))
    reference = plain(decoded)
    assert all(np.array_equal(reference[k], v) for k, v in plain(events).items()), f"{name}: evrepro round trip"
    evrepro_rate = events.size / seconds
    readers = [{"library": "evrepro", "reader": "evrepro.events.read", "seconds": seconds,
                "million_events_per_s": evrepro_rate / 1e6}]
    for reader, function in spec["evrepro_extra"]:
        seconds, decoded = best_of(lambda: function(path))
        readers.append({"library": "evrepro", "reader": reader, "seconds": seconds,
                        "million_events_per_s": events.size / seconds / 1e6,
                        "equal": all(np.array_equal(reference[k], v) for k, v in plain(decoded).items())})
    for library, reader, function, to_columns, convention in spec["readers"]:
        entry = {"library": library, "reader": reader}
        try:
            seconds, decoded = best_of(lambda: function(path))
        except Exception as error:  # a library that cannot read the file is a result, not a crash
            entry["error"] = f"{type(error).__name__}: {error}"
        else:
            found = to_columns(decoded)
            entry |= {"seconds": seconds, "million_events_per_s": events.size / seconds / 1e6,
                      "evrepro_ratio": evrepro_rate * seconds / events.size,
                      "equal": all(np.array_equal(reference[k], found[k]) for k in reference),
                      "convention": convention}
        readers.append(entry)
    return {"title": spec["title"], "events": int(events.size), "bytes": path.stat().st_size,
            "sensor": list(spec["sensor"]), "readers": readers, "not_offered": spec["not_offered"],
            **({"note": spec["note"]} if "note" in spec else {})}


def main(scale: float = 1.0) -> dict:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        formats = {name: measure(name, spec, Path(folder), scale, rng) for name, spec in FORMATS.items()}
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version()},
        "versions": {name: importlib.metadata.version(name) for name in LIBRARIES},
        "repeats": "best of 3", "ratio": "evrepro.events.read events/s ÷ the library's",
        "formats": formats,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the default event counts (quick check)")
    print(json.dumps(main(parser.parse_args().scale), indent=2))
