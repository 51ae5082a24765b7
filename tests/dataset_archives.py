"""Small archives in each dataset's real release layout (as each release's archives hold them), written with evrepro's writers.

``build(name, folder)`` returns ``{archive filename: bytes}`` for every archive of the registry entry
and the recordings inside as ``{sample id: (class name, events in the file's own coordinates)}``.
"""

import io
import zipfile

import numpy as np

from evrepro.datasets.registry import get_dataset
from evrepro.events import make_events
from evrepro.events.aedat import MAGIC, RECORD_DTYPE
from evrepro.events.annotations import write_annotation
from evrepro.events.atis import encode_atis
from evrepro.events.prophesee import write_prophesee_dat

PER_CLASS = 3


def random_events(rng, sensor_size, n=None) -> np.ndarray:
    n = n or int(rng.integers(50, 200))
    return make_events(np.sort(rng.integers(0, 100_000, n)), rng.integers(0, sensor_size[0], n),
                       rng.integers(0, sensor_size[1], n), rng.integers(0, 2, n))


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as handle:
        for name, data in members.items():
            handle.writestr(name, data)
    return buffer.getvalue()


def _file_bytes(write, events, tmp_path, suffix, **options) -> bytes:
    path = tmp_path / f"member{suffix}"
    write(path, events, **options)
    data = path.read_bytes()
    path.unlink()
    return data


def _aedat(events) -> bytes:
    records = np.empty(events.size, dtype=RECORD_DTYPE)
    records["address"] = events["y"].astype(np.uint32) << 8 | events["x"].astype(np.uint32) << 1 | events["p"]
    records["t"] = events["t"]
    return MAGIC + b"\r\n# jAER AEDAT 2.0 as recorded\r\n" + records.tobytes()


def build(name: str, folder, seed: int = 0):
    """Archives of ``name`` in its release layout, and the recordings they hold."""
    spec = get_dataset(name)
    rng = np.random.default_rng(seed)
    recordings = {}

    def recording(class_name, sample_id):
        events = random_events(rng, spec.sensor_size)
        recordings[sample_id] = (class_name, events)
        return events

    if name == "nmnist":
        inner = {split: zip_bytes({f"{split}/{digit}/{split[:2]}{digit}{i:03d}.bin":
                                   encode_atis(recording(str(digit), f"{split[:2]}{digit}{i:03d}"))
                                   for digit in range(10) for i in range(2)}) for split in ("Train", "Test")}
        return {spec.archives[0].filename: zip_bytes({f"468j46mzdv-1/{s}.zip": b for s, b in inner.items()})}, \
            recordings
    if name == "ncaltech101":
        folders = {"accordion": "accordion", "Faces_easy": "faces_easy", "BACKGROUND_Google": "background_google"}
        events_zip = zip_bytes({f"Caltech101/{f}/image_{i:04d}.bin": encode_atis(recording(c, f"{c}/image_{i:04d}"))
                                for f, c in folders.items() for i in range(1, PER_CLASS + 1)})
        annotations = {}
        for f in folders:
            for i in range(1, PER_CLASS + 1):
                write_annotation(folder / "a.bin", np.array([[2, 3], [50, 3], [50, 40], [2, 40]]),
                                 np.array([[5, 5], [30, 8], [20, 35]]))
                annotations[f"Caltech101_annotations/{f}/annotation_{i:04d}.bin"] = (folder / "a.bin").read_bytes()
        outer = {"N-Caltech101/Caltech101.zip": events_zip,
                 "N-Caltech101/Caltech101_annotations.zip": zip_bytes(annotations)}
        return {spec.archives[0].filename: zip_bytes(outer)}, recordings
    if name == "ncars":
        header = ("Data file containing N9Chronocam7Event2dE events.", "Version 2", "Date 2017-04-27 10:44:36")
        inner = {}
        for split in ("train", "test"):  # members without a folder of their own, as the inner zips hold them
            inner[f"n-cars_{split}.zip"] = zip_bytes({
                f"{kind}/obj_{split[:2]}{i:04d}_td.dat": _file_bytes(
                    write_prophesee_dat, recording({"cars": "car"}.get(kind, kind), f"{kind}/obj_{split[:2]}{i:04d}_td"), folder,
                    ".dat", header_lines=header)
                for kind in ("cars", "background") for i in range(PER_CLASS)})
        return {spec.archives[0].filename: zip_bytes(inner)}, recordings
    if name == "cifar10-dvs":
        return {f"{c}.zip": zip_bytes({f"{c}/cifar10_{c}_{i}.aedat": _aedat(recording(c, f"{c}/cifar10_{c}_{i}"))
                                       for i in range(PER_CLASS)}) for c in spec.class_names}, recordings
    if name == "mnist-dvs":
        archives = {}
        for digit in range(10):
            members = {}
            for scale in (4, 8, 16):
                for i in range(1, PER_CLASS + 1):
                    stem = f"mnist_{digit}_scale{scale:02d}_{i:04d}"
                    events = recording(str(digit), stem) if scale == 16 else random_events(rng, spec.sensor_size)
                    members[f"grabbed_data{digit}/scale{scale}/{stem}.aedat"] = _aedat(events)
            archives[f"grabbed_data{digit}.zip"] = zip_bytes(members)
        return archives, recordings
    if name == "asl-dvs":
        from evrepro.events.matlab import write_asl_mat

        inner = {f"Yin Bi - {letter}.zip": zip_bytes({
            f"{letter}/{letter}_{i:04d}.mat": _file_bytes(write_asl_mat, recording(letter, f"{letter}/{letter}_{i:04d}"),
                                                          folder, ".mat")
            for i in range(1, PER_CLASS + 1)}) for letter in spec.class_names[:3]}
        return {spec.archives[0].filename: zip_bytes(inner)}, recordings
    raise ValueError(f"no test archives for {name}")
