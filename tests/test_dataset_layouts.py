"""Every dataset's release layout through fetch (real HTTP on 127.0.0.1) -> extract -> events, local copies
used in place, Gen1's manual download, and the registry as `python -m evrepro datasets` prints it."""

import dataclasses
import hashlib
import json

import numpy as np
import pytest

from dataset_archives import build
from evrepro.datasets import stages
from evrepro.datasets.layouts import LayoutError
from evrepro.datasets.local_copy import LocalCopyError
from evrepro.datasets.orientation import orient
from evrepro.datasets.registry import REGISTRY, Archive
from evrepro.datasets.store import EventsStore
from evrepro.datasets.splits import manifest_hash
from http_server import ArchiveServer

DOWNLOADED = ["nmnist", "ncaltech101", "ncars", "cifar10-dvs", "mnist-dvs", "asl-dvs"]
SPLIT_CONFIG = {"val_fraction": 0.34, "test_fraction": 0.34, "split_seed": 0}


def serve_registry(monkeypatch, name, archives: dict[str, bytes], url: str) -> None:
    """The registry entry of ``name``, with its archives' sizes and hashes those of the local test archives."""
    spec = REGISTRY[name]
    local = tuple(Archive(filename, (f"{url}/{filename}",), len(data), hashlib.sha256(data).hexdigest(), "test")
                  for filename, data in archives.items())
    monkeypatch.setitem(REGISTRY, name, dataclasses.replace(spec, archives=local))


def fetched_and_extracted(name, tmp_path, monkeypatch, raw):
    """``name``'s release-layout archives served locally, fetched and unpacked into ``raw``: (manifest, recordings)."""
    archives, recordings = build(name, tmp_path)
    with ArchiveServer({f"/{f}": d for f, d in archives.items()}) as server:
        serve_registry(monkeypatch, name, archives, server.url)
        manifest = stages.fetch(name, SPLIT_CONFIG, tmp_path / "dl" / "manifest.json", progress=False)
    stages.extract(manifest, raw, progress=False)
    return manifest, recordings


def build_through_stages(name, config, root):
    manifest = stages.fetch(name, config, root / "archives" / "manifest.json", progress=False)
    stages.extract(manifest, root / "raw", progress=False)
    counts = stages.build_events(name, config, manifest, root / "raw", root / "events.h5", root / "splits.json",
                                 progress=False)
    return manifest, counts


def assert_store_holds(store_path, name, recordings):
    """Every recording is in the store once, under its class, oriented as the registry says."""
    spec = REGISTRY[name]
    seen = set()
    with EventsStore(store_path) as store:
        assert store.orientation == list(spec.orientation)
        for split in store.splits:
            for index, (sample_id, label) in enumerate(zip(store.sample_ids(split), store.labels(split))):
                class_name, events = recordings[sample_id]
                assert spec.class_names[label] == class_name, sample_id
                expected = orient(events, spec.orientation, spec.sensor_size)
                np.testing.assert_array_equal(store.sample(split, index), expected)
                seen.add(sample_id)
    assert seen == set(recordings)


@pytest.mark.parametrize("name", DOWNLOADED)
def test_each_release_layout_goes_through_fetch_extract_events(name, tmp_path, monkeypatch):
    archives, recordings = build(name, tmp_path)
    with ArchiveServer({f"/{filename}": data for filename, data in archives.items()}) as server:
        serve_registry(monkeypatch, name, archives, server.url)
        config = dict(SPLIT_CONFIG, **({"scale": 16} if name == "mnist-dvs" else {}))
        _, counts = build_through_stages(name, config, tmp_path)
    assert sum(counts.values()) == len(recordings)
    assert set(counts) == {"train", "val", "test"}
    assert_store_holds(tmp_path / "events.h5", name, recordings)
    split_record = json.loads((tmp_path / "splits.json").read_text())
    assert sum(len(ids) for ids in split_record["splits"].values()) == len(recordings)
    with EventsStore(tmp_path / "events.h5") as store:
        assert store.split_manifest_sha256 == manifest_hash(split_record)
        assert store.attr_json("params")["orientation"] == list(REGISTRY[name].orientation)
        boxes = [store.box(split, i) for split in store.splits for i in range(store.num_samples(split))]
    if name == "ncaltech101":  # every sample's annotation: corners (2, 3) .. (50, 40)
        assert all(box.tolist() == [2, 3, 48, 37] for box in boxes)
        assert_detection_samples_are_the_boxed_samples(tmp_path)
    else:
        assert boxes == [None] * len(recordings)


def assert_detection_samples_are_the_boxed_samples(root):
    """N-Caltech101 detection: every sample one graph, its annotated box labelled with its class at its last event."""
    from evrepro.graphs.detection_params import PRESETS
    from evrepro.graphs.detection_store import DetectionGraphStore, build_detection_graph_store

    counts = build_detection_graph_store(root / "events.h5", root / "detection.h5", PRESETS["ncaltech101"],
                                         progress=False)
    with EventsStore(root / "events.h5") as events, DetectionGraphStore(root / "detection.h5") as graphs:
        assert counts == {split: events.num_samples(split) for split in events.splits}
        for split in events.splits:
            for index in range(events.num_samples(split)):
                sample = graphs.sample(split, index)
                assert sample["boxes"].tolist() == [[2, 3, 48, 37, events.labels(split)[index]]]
                assert sample["label_t"] == events.sample(split, index)["t"][-1]
                assert sample["recording"] == events.sample_ids(split)[index]


def test_orientation_fixes_change_what_the_file_holds_as_the_papers_read_it(tmp_path):
    events = build("asl-dvs", tmp_path)[1]["a/a_0001"][1]
    flipped = orient(events, ("flip_y",), (240, 180))
    np.testing.assert_array_equal(flipped["y"], 179 - events["y"])
    cifar = orient(events, ("flip_x", "invert_polarity"), (128, 128))
    np.testing.assert_array_equal(cifar["x"], 127 - events["x"])
    np.testing.assert_array_equal(cifar["p"], 1 - events["p"])
    np.testing.assert_array_equal(orient(events, (), (240, 180)), events)


def test_a_folder_of_archives_is_checked_and_used_in_place_without_a_copy(tmp_path, monkeypatch):
    archives, recordings = build("cifar10-dvs", tmp_path)
    copy = tmp_path / "my-copy" / "nested"
    copy.mkdir(parents=True)
    for filename, data in archives.items():
        (copy / filename).write_bytes(data)
    serve_registry(monkeypatch, "cifar10-dvs", archives, "http://127.0.0.1:9")  # never contacted
    config = dict(SPLIT_CONFIG, root=str(tmp_path / "my-copy"))
    manifest, _ = build_through_stages("cifar10-dvs", config, tmp_path / "work")
    entries = json.loads(manifest.read_text())["files"]
    assert {entry["path"] for entry in entries} == {str((copy / f).resolve()) for f in archives}
    assert sorted(p.name for p in manifest.parent.iterdir()) == ["manifest.json"]  # nothing copied
    assert_store_holds(tmp_path / "work" / "events.h5", "cifar10-dvs", recordings)

    (copy / "ship.zip").write_bytes(b"not the archive")
    with pytest.raises(LocalCopyError, match=r"ship\.zip: 15 bytes, but ship\.zip has"):
        stages.fetch("cifar10-dvs", config, tmp_path / "again" / "manifest.json", progress=False)
    assert (copy / "ship.zip").read_bytes() == b"not the archive"  # the user's file is left alone


def test_an_extracted_copy_is_read_where_it_is(tmp_path, monkeypatch):
    _, recordings = fetched_and_extracted("ncars", tmp_path, monkeypatch, tmp_path / "extracted")
    config = dict(SPLIT_CONFIG, root=str(tmp_path / "extracted"))
    manifest, counts = build_through_stages("ncars", config, tmp_path / "work")
    assert json.loads(manifest.read_text())["extracted"] == str((tmp_path / "extracted").resolve())
    assert [p.name for p in (tmp_path / "work" / "raw").iterdir()] == ["LOCAL_COPY.json"]
    assert counts["test"] == 6 and counts["train"] + counts["val"] == 6  # N-CARS' own test split
    assert_store_holds(tmp_path / "work" / "events.h5", "ncars", recordings)


def test_gen1_without_a_local_copy_fails_at_run_time_saying_what_to_download_and_where(tmp_path):
    with pytest.raises(stages.DatasetUnavailable, match=r"gen1: needs a registration .* set datasets\.gen1\.root"):
        stages.fetch("gen1", SPLIT_CONFIG, tmp_path / "manifest.json", progress=False)
    assert not (tmp_path / "manifest.json").exists()


def test_a_class_folder_that_is_not_a_class_stops_the_build_naming_it(tmp_path, monkeypatch):
    manifest, _ = fetched_and_extracted("asl-dvs", tmp_path, monkeypatch, tmp_path / "raw")
    letter_a = next(p for p in (tmp_path / "raw").rglob("a") if p.is_dir())
    (letter_a.parent / "z").mkdir()
    (letter_a.parent / "z" / "z_0001.mat").write_bytes((letter_a / "a_0001.mat").read_bytes())
    with pytest.raises(LayoutError, match=r"z: class folder 'z' is none of the 24 classes of asl-dvs"):
        stages.build_events("asl-dvs", SPLIT_CONFIG, manifest, tmp_path / "raw", tmp_path / "e.h5",
                            tmp_path / "s.json", progress=False)
    assert not (tmp_path / "e.h5").exists()


def test_the_events_store_is_the_same_with_several_worker_processes(tmp_path, monkeypatch):
    manifest, _ = fetched_and_extracted("mnist-dvs", tmp_path, monkeypatch, tmp_path / "raw")
    for workers in (1, 2):
        stages.build_events("mnist-dvs", dict(SPLIT_CONFIG, scale=16), manifest, tmp_path / "raw",
                            tmp_path / f"e{workers}.h5", tmp_path / f"s{workers}.json", workers=workers,
                            progress=False)
    with EventsStore(tmp_path / "e1.h5") as one, EventsStore(tmp_path / "e2.h5") as two:
        for split in one.splits:
            assert one.sample_ids(split) == two.sample_ids(split)
            for index in range(one.num_samples(split)):
                np.testing.assert_array_equal(one.sample(split, index), two.sample(split, index))


def test_the_datasets_command_prints_every_dataset_and_how_to_obtain_it(tmp_path):
    import subprocess
    import sys

    table = subprocess.run([sys.executable, "-m", "evrepro", "datasets"], capture_output=True, text=True, timeout=120)
    assert table.returncode == 0, table.stderr
    names = [line.split()[0] for line in table.stdout.splitlines()[1:10]]
    assert names == ["digits", "traffic", "nmnist", "ncaltech101", "ncars", "gen1", "cifar10-dvs", "mnist-dvs",
                     "asl-dvs"]
    assert "generated" in next(line for line in table.stdout.splitlines() if line.split()[:1] == ["traffic"])
    assert "manual (registration)" in next(line for line in table.stdout.splitlines() if "gen1" in line)
    full = subprocess.run([sys.executable, "-m", "evrepro", "datasets", "cifar10-dvs"], capture_output=True,
                          text=True, timeout=120)
    assert "airplane, automobile, bird, cat, deer, dog, ship, truck, frog, horse" in full.stdout
    assert "https://ndownloader.figshare.com/files/7712788" in full.stdout
    assert "orientation fixes: flip_x, invert_polarity" in full.stdout
    caltech = subprocess.run([sys.executable, "-m", "evrepro", "datasets", "ncaltech101"], capture_output=True,
                             text=True, timeout=120).stdout
    assert "classes (102, label = index)" in caltech and "never in the data: faces" in caltech


GEN1_HEADER = ("Data file containing Event2D events", "Version 2", "Date 2019-02-11 15:37:08", "Height 240",
               "Width 304")


def write_gen1_copy(root, rng):
    """A Gen1 copy as the release extracts: train/val/test of <recording>_td.dat + <recording>_bbox.npy (both box
    field variants), returning {recording id: (events, boxes)}."""
    from evrepro.events.boxes import BOX_DTYPE, write_boxes
    from evrepro.events.prophesee import write_prophesee_dat

    recordings = {}
    for split, count in (("train", 2), ("val", 1), ("test", 1)):
        (root / split).mkdir(parents=True)
        for i in range(count):
            rid = f"17-04-06_09-57-37_{split}{i}_{i * 60_000_000}_{(i + 1) * 60_000_000}"
            n = int(rng.integers(20_000, 40_000))
            events = make_gen1_events(rng, n, duration_us=2_000_000)
            boxes = np.zeros(5, dtype=BOX_DTYPE)
            boxes["t"] = np.sort(rng.integers(0, 2_000_000, 5))[::-1]  # stored out of order: the store sorts them
            boxes["x"], boxes["y"], boxes["w"], boxes["h"] = 10.5, 20.0, 60.0, 40.0
            boxes["class_id"] = rng.integers(0, 2, 5)
            write_prophesee_dat(root / split / f"{rid}_td.dat", events, header_lines=GEN1_HEADER)
            write_boxes(root / split / f"{rid}_bbox.npy", boxes, variant="legacy" if i % 2 == 0 else "current")
            recordings[rid] = (split, events, boxes)
    return recordings


def make_gen1_events(rng, n, duration_us):
    from evrepro.events import make_events

    return make_events(np.sort(rng.integers(0, duration_us, n)), rng.integers(0, 304, n), rng.integers(0, 240, n),
                       rng.integers(0, 2, n))


def test_gen1_recordings_are_stored_so_a_window_reads_without_the_recording(tmp_path):
    from evrepro.datasets.recordings_store import INDEX_STEP_US, RecordingsStore

    rng = np.random.default_rng(3)
    recordings = write_gen1_copy(tmp_path / "gen1", rng)
    config = dict(SPLIT_CONFIG, root=str(tmp_path / "gen1"))
    _, counts = build_through_stages("gen1", config, tmp_path / "work")
    assert counts == {"train": 2, "val": 1, "test": 1}
    with RecordingsStore(tmp_path / "work" / "events.h5") as store:
        assert store.sensor_size == (304, 240) and store.class_names == ["car", "pedestrian"]
        for split in store.splits:
            for index, rid in enumerate(store.recording_ids(split)):
                expected_split, events, boxes = recordings[rid]
                assert split == expected_split
                np.testing.assert_array_equal(store.recording(split, index), events)
                stored = store.boxes(split, index)
                np.testing.assert_array_equal(stored["t"], np.sort(boxes["t"]))
                np.testing.assert_array_equal(stored["class_id"], boxes["class_id"][np.argsort(boxes["t"])])
                for t0, t1 in [(0, 1), (-5, 10), (INDEX_STEP_US, 2 * INDEX_STEP_US), (123_456, 523_457),
                               (1_999_000, 9_000_000), (3_000_000, 4_000_000), *rng.integers(0, 2_100_000, (20, 2))]:
                    t0, t1 = int(min(t0, t1)), int(max(t0, t1))
                    want = events[(events["t"] >= t0) & (events["t"] < t1)]
                    np.testing.assert_array_equal(store.window(split, index, t0, t1), want)
    split_record = json.loads((tmp_path / "work" / "splits.json").read_text())
    assert {s: len(ids) for s, ids in split_record["splits"].items()} == counts


def test_a_recording_written_in_blocks_has_the_same_index_as_written_whole(tmp_path):
    import h5py

    from evrepro.datasets.recordings_store import RecordingWriter
    from evrepro.events.boxes import BOX_DTYPE

    events = make_gen1_events(np.random.default_rng(4), 50_000, duration_us=3_000_000)
    index = {}
    for block_events in (50_000, 7_001, 999):
        with h5py.File(tmp_path / f"{block_events}.h5", "w") as handle:
            writer = RecordingWriter(handle.create_group("train"))
            blocks = [events[i : i + block_events] for i in range(0, events.size, block_events)]
            writer.add("r", blocks, np.zeros(0, BOX_DTYPE), "r_td.dat")
            writer.close()
            index[block_events] = handle["train/time_index"][:]
            np.testing.assert_array_equal(handle["train/t"][:], events["t"])
    assert index[50_000].size == events["t"][-1] // 50_000 + 1
    for k, entry in enumerate(index[50_000]):  # the first event at or after k × 50 ms
        assert events["t"][entry] >= k * 50_000 and (entry == 0 or events["t"][entry - 1] < k * 50_000)
    np.testing.assert_array_equal(index[7_001], index[50_000])
    np.testing.assert_array_equal(index[999], index[50_000])


def test_a_gen1_recording_whose_time_decreases_or_whose_box_class_is_unknown_is_refused_by_name(tmp_path):
    from evrepro.events import EventFormatError
    from evrepro.events.boxes import read_boxes, write_boxes
    from evrepro.events.prophesee import read_prophesee_dat, write_prophesee_dat

    recordings = write_gen1_copy(tmp_path / "gen1", np.random.default_rng(5))
    rid, (split, events, _) = next(iter(recordings.items()))
    dat = tmp_path / "gen1" / split / f"{rid}_td.dat"
    swapped = events.copy()
    swapped["t"][[100, 101]] = events["t"][100] + 7, events["t"][100]
    write_prophesee_dat(dat, swapped, header_lines=GEN1_HEADER)
    config = dict(SPLIT_CONFIG, root=str(tmp_path / "gen1"))
    with pytest.raises(EventFormatError, match=rf"{rid}_td\.dat: timestamp decreases at event 101 "):
        build_through_stages("gen1", config, tmp_path / "work")
    assert not (tmp_path / "work" / "events.h5").exists()
    write_prophesee_dat(dat, events, header_lines=GEN1_HEADER)
    boxes_path = dat.with_name(f"{rid}_bbox.npy")
    boxes = read_boxes(boxes_path)
    boxes["class_id"][2] = 7
    write_boxes(boxes_path, boxes)
    with pytest.raises(EventFormatError, match=rf"{rid}_bbox\.npy: event 2 has class_id=7, outside \[0, 1\]"):
        build_through_stages("gen1", config, tmp_path / "work2")
    assert read_prophesee_dat(dat).size == events.size


def test_the_datasets_table_has_a_row_per_split_with_its_manifest_hash_for_both_kinds_of_store(tmp_path,
                                                                                                 tiny_digits):
    from evrepro.report.tables import datasets_table

    write_gen1_copy(tmp_path / "gen1", np.random.default_rng(6))
    build_through_stages("gen1", dict(SPLIT_CONFIG, root=str(tmp_path / "gen1")), tmp_path / "work")
    table = datasets_table({"digits": tiny_digits["store"], "gen1": tmp_path / "work" / "events.h5"})
    gen1 = table[table["dataset"] == "gen1"].set_index("split")
    assert gen1["samples"].to_dict() == {"train": 2, "val": 1, "test": 1}
    assert gen1["boxes"].to_dict() == {"train": 10, "val": 5, "test": 5}
    digits = table[table["dataset"] == "digits"]
    with EventsStore(tiny_digits["store"]) as store:
        assert set(digits["split_manifest_sha256"]) == {store.split_manifest_sha256}
    split_record = json.loads((tmp_path / "work" / "splits.json").read_text())
    assert set(gen1["split_manifest_sha256"]) == {manifest_hash(split_record)}
    assert set(table["orientation"]) == {"as recorded"}
