"""The embedded detection set: generated as real Gen1 files, read by Gen1's code into a recordings store whose boxes
sit where the events are."""

import json

import numpy as np
import pytest
from traffic_data import build_traffic

from evrepro.datasets.recordings_store import RecordingsStore
from evrepro.datasets.traffic import CLASS_NAMES, SENSOR_SIZE
from evrepro.detection.windows import WindowParams, windows
from evrepro.events.prophesee import dat_sensor_size, read_dat_header

SMALL = {"seed": 3, "train_recordings": 3, "val_recordings": 1, "test_recordings": 1, "duration_ms": 1000.0}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_traffic(tmp_path_factory.mktemp("traffic"), SMALL)


def test_the_archive_holds_gen1_files(built):
    raw = built / "raw"
    recordings = sorted(path.relative_to(raw).as_posix() for path in raw.rglob("*_td.dat"))
    assert recordings == ["test/traffic_test_000_td.dat", "train/traffic_train_000_td.dat",
                          "train/traffic_train_001_td.dat", "train/traffic_train_002_td.dat",
                          "val/traffic_val_000_td.dat"]
    header = read_dat_header(raw / recordings[0])
    assert dat_sensor_size(header) == SENSOR_SIZE
    labels = np.load(raw / recordings[0].replace("_td.dat", "_bbox.npy"))
    assert labels.dtype.names == ("ts", "x", "y", "w", "h", "class_id", "confidence", "track_id")  # the release's
    assert set(np.unique(labels["ts"] % 100_000)) == {0} and labels.size > 0
    source = json.loads((built / "archives/manifest.json").read_text())["source"]
    assert source["generator"] == "evrepro.datasets.traffic" and source["params"]["seed"] == 3


def test_the_recordings_store_holds_every_recording_with_boxes_where_the_events_are(built):
    with RecordingsStore(built / "traffic.h5") as store:
        assert store.class_names == list(CLASS_NAMES) and tuple(store.sensor_size) == SENSOR_SIZE
        assert {split: len(store.recording_ids(split)) for split in store.splits} == {"train": 3, "val": 1, "test": 1}
        classes, inside, area = set(), [], []
        for split in store.splits:
            for index in range(len(store.recording_ids(split))):
                for window in windows(store.boxes(split, index), WindowParams(box_filter="none")):
                    events = store.window(split, index, window.start, window.stop)
                    covered = np.zeros(SENSOR_SIZE[::-1], bool)
                    for box in window.boxes:
                        x0, y0 = int(box["x"]), int(box["y"])
                        covered[y0 : int(np.ceil(box["y"] + box["h"])), x0 : int(np.ceil(box["x"] + box["w"]))] = True
                        classes.add(int(box["class_id"]))
                    inside.append(covered[events["y"], events["x"]].mean())
                    area.append(covered.mean())
        assert classes == {0, 1}
        # the boxes cover a small part of the sensor but most of the events: they mark the moving objects
        assert np.mean(area) < 0.25 and np.mean(inside) > 0.7, (np.mean(area), np.mean(inside))


def test_the_detection_graph_store_holds_one_graph_per_window_with_its_boxes(built):
    from dataclasses import replace

    from evrepro.graphs.detection_params import PRESETS
    from evrepro.graphs.detection_store import DetectionGraphStore, build_detection_graph_store

    params = PRESETS["traffic"]
    counts = build_detection_graph_store(built / "traffic.h5", built / "graphs.h5", params, progress=False)
    with RecordingsStore(built / "traffic.h5") as recordings, DetectionGraphStore(built / "graphs.h5") as graphs:
        assert graphs.params == params and graphs.class_names == list(CLASS_NAMES)
        for split in recordings.splits:
            expected = [(recordings.recording_ids(split)[index], window)
                        for index in range(len(recordings.recording_ids(split)))
                        for window in windows(recordings.boxes(split, index), params.windows)]
            assert counts[split] == graphs.num_samples(split) == len(expected) > 0  # every window has events
            for k in (0, len(expected) - 1):
                sample, (recording, window) = graphs.sample(split, k), expected[k]
                assert sample["recording"] == recording and sample["label_t"] == window.label_t
                truth = np.stack([window.boxes[f] for f in ("x", "y", "w", "h", "class_id")], axis=1)
                np.testing.assert_array_equal(sample["boxes"], truth.astype(np.float32))
                events = recordings.window(split, [*recordings.recording_ids(split)].index(recording), window.start,
                                           window.stop)
                assert len(sample["pos"]) == min(events.size, params.events_per_sample)
                assert sample["edge_index"].max() < len(sample["pos"])
    # the original's windows: one per box, and windows with too few events left out and counted
    original = replace(params, window_mode="original", box_filter="none")
    with RecordingsStore(built / "traffic.h5") as recordings:
        sizes = [recordings.window("train", i, w.start, w.stop).size for i in range(3)
                 for w in windows(recordings.boxes("train", i), original.windows)]
    original = replace(original, min_events=int(np.median(sizes)))  # about half the training windows are too small
    counts = build_detection_graph_store(built / "traffic.h5", built / "original.h5", original, progress=False)
    with RecordingsStore(built / "traffic.h5") as recordings, DetectionGraphStore(built / "original.h5") as graphs:
        for split in recordings.splits:
            boxes = sum(len(recordings.boxes(split, i)) for i in range(len(recordings.recording_ids(split))))
            skipped = int(graphs.handle[split].attrs["skipped"])
            assert counts[split] + skipped == boxes
        assert 0 < int(graphs.handle["train"].attrs["skipped"]) < len(sizes)
