"""The events store: round trip, partial reads, attributes, atomic writes."""

import json

import h5py
import numpy as np
import pytest

from evrepro.datasets.store import CHUNK_EVENTS, FORMAT, EventsStore, write_events_store
from evrepro.events import make_events


def random_samples(rng, n, splits=("train", "val", "test")):
    samples = []
    for i in range(n):
        size = int(rng.integers(0, 9000))  # 0: an empty sample must survive too
        events = make_events(np.sort(rng.integers(0, 300_000, size)), rng.integers(0, 34, size),
                             rng.integers(0, 34, size), rng.integers(0, 2, size))
        samples.append((splits[i % len(splits)], int(rng.integers(0, 10)), f"s{i:03d}", events))
    return samples


def write(path, samples, **extra):
    return write_events_store(path, iter(samples), sensor_size=(34, 34), class_names=[str(d) for d in range(10)],
                              source={"generator": "test"}, params={"a": 1}, inputs={"x.zip": "abc"}, **extra)


def test_round_trip_returns_every_sample_and_attribute(tmp_path):
    samples = random_samples(np.random.default_rng(0), 60)
    counts = write(tmp_path / "e.h5", samples)
    assert counts == {"train": 20, "val": 20, "test": 20}
    with EventsStore(tmp_path / "e.h5") as store:
        assert store.splits == ["train", "val", "test"]
        assert store.sensor_size == (34, 34) and store.class_names[3] == "3"
        assert store.attr_json("source") == {"generator": "test"}
        assert store.attr_json("inputs") == {"x.zip": "abc"}
        assert store.handle.attrs["format"] == FORMAT and len(store.handle.attrs["params_hash"]) == 10
        for split in store.splits:
            expected = [s for s in samples if s[0] == split]
            assert store.sample_ids(split) == [s[2] for s in expected]
            assert store.labels(split).tolist() == [s[1] for s in expected]
            assert store.event_counts(split).tolist() == [s[3].size for s in expected]
            for i, (*_, events) in enumerate(expected):
                np.testing.assert_array_equal(store.sample(split, i), events)
            durations = [int(e["t"][-1] - e["t"][0]) if e.size else 0 for *_, e in expected]
            assert store.durations_us(split, block_events=5000).tolist() == durations


def test_event_columns_are_chunked_and_compressed_so_one_sample_reads_alone(tmp_path):
    samples = random_samples(np.random.default_rng(1), 90, splits=("train",))
    write(tmp_path / "e.h5", samples)
    with h5py.File(tmp_path / "e.h5") as handle:
        column = handle["train"]["t"]
        assert column.chunks == (CHUNK_EVENTS,) and column.compression == "gzip"
        assert column.id.get_num_chunks() > 5
        assert handle["train"]["x"].dtype == np.uint16 and handle["train"]["p"].dtype == np.int8
    with EventsStore(tmp_path / "e.h5") as store:
        start, stop = store.offsets("train")[44:46]
        first_chunk, last_chunk = start // CHUNK_EVENTS, (stop - 1) // CHUNK_EVENTS
        assert last_chunk - first_chunk <= 1  # a ~4,500-event sample spans at most two chunks
        np.testing.assert_array_equal(store.sample("train", 44), samples[44][3])
        with pytest.raises(IndexError, match="sample 90 out of range"):
            store.sample("train", 90)


def test_a_failed_write_leaves_no_file_and_keeps_the_previous_one(tmp_path):
    target = tmp_path / "e.h5"
    samples = random_samples(np.random.default_rng(2), 6)
    write(target, samples)
    before = target.read_bytes()

    def broken():
        yield samples[0]
        raise RuntimeError("reader failed on sample 1")

    with pytest.raises(RuntimeError, match="sample 1"):
        write_events_store(target, broken(), sensor_size=(34, 34), class_names=["a"], source={}, params={})
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["e.h5"]


def test_a_file_of_another_format_is_refused(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as handle:
        handle.attrs["format"] = "something/1"
    with pytest.raises(ValueError, match="other.h5: format attribute is 'something/1'"):
        EventsStore(tmp_path / "other.h5")


def test_params_attribute_is_json(tmp_path):
    write(tmp_path / "e.h5", random_samples(np.random.default_rng(3), 3))
    with h5py.File(tmp_path / "e.h5") as handle:
        assert json.loads(handle.attrs["params"]) == {"a": 1}
