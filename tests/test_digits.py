"""The embedded digits dataset: determinism, N-MNIST-like ranges and rates, disjoint splits, archive bytes."""

import dataclasses
import zipfile

import numpy as np
import yaml

from conftest import REPO
from evrepro.datasets import digits
from evrepro.datasets.dvs_simulator import simulate_dvs
from evrepro.events.atis import decode_atis

SMALL = digits.DigitsParams(max_images=30, recordings_per_image=2)


def first_recordings(params, n):
    out = []
    for item in digits.recordings(params):
        out.append(item)
        if len(out) == n:
            return out
    return out


def test_same_seed_same_events_and_different_seed_different_events():
    a = first_recordings(SMALL, 4)
    b = first_recordings(SMALL, 4)
    c = first_recordings(dataclasses.replace(SMALL, seed=1), 4)
    for (_, _, id_a, ev_a), (_, _, id_b, ev_b) in zip(a, b):
        assert id_a == id_b
        np.testing.assert_array_equal(ev_a, ev_b)
    assert not np.array_equal(a[0][3], c[0][3])


def test_recordings_look_like_nmnist():
    samples = first_recordings(SMALL, 24)
    counts = np.array([events.size for *_, events in samples])
    assert 2000 <= counts.mean() <= 7000, counts  # real N-MNIST: ~4,300 events per sample
    for *_, events in samples:
        assert events["x"].max() <= 33 and events["y"].max() <= 33
        assert np.all(np.diff(events["t"]) >= 0)
        assert events["t"][0] >= 0 and 270_000 <= events["t"][-1] <= 320_000  # three ~100 ms saccades
        assert 0.3 < events["p"].mean() < 0.7  # both polarities
    # the two recordings of one image differ (randomised offset, scale, noise)
    assert not np.array_equal(samples[0][3], samples[1][3])


def test_events_follow_the_saccades():
    """Most events happen while the sensor moves; each saccade holds roughly a third of them."""
    *_, events = first_recordings(SMALL, 1)[0]
    thirds = np.histogram(events["t"], bins=3, range=(0, events["t"][-1] + 1))[0]
    assert thirds.min() > 0.15 * events.size


def test_saccade_path_is_a_closed_triangle():
    durations = np.array([100_000.0, 100_000.0, 100_000.0])
    path = digits.saccade_path(np.array([0.0, 100_000, 200_000, 300_000]), durations, amplitude=4.0)
    np.testing.assert_allclose(path, [[0, -2], [2, 2], [-2, 2], [0, -2]], atol=1e-9)


def test_train_and_test_images_are_disjoint_and_stratified():
    _, labels = digits.load_images()
    is_test = digits.test_image_mask(labels, 0.2, seed=0)
    assert 0.18 < is_test.mean() < 0.22
    for label in range(10):
        assert 0 < is_test[labels == label].sum() < (labels == label).sum()
    ids = {split: {sid.split("-")[0] for split_, _, sid, _ in first_recordings(SMALL, 60) if split_ == split}
           for split in ("Train", "Test")}
    assert ids["Train"] and ids["Test"] and not ids["Train"] & ids["Test"]


def test_archive_has_the_nmnist_layout_and_atis_bytes(tmp_path):
    params = digits.DigitsParams(max_images=5, recordings_per_image=2)
    assert digits.write_archive(tmp_path / "d.zip", params, progress=False) == 10
    with zipfile.ZipFile(tmp_path / "d.zip") as archive:
        names = archive.namelist()
        assert all(n.split("/")[0] in {"Train", "Test"} and n.endswith(".bin") for n in names)
        first = names[0]
        split, label, file_name = first.split("/")
        expected = first_recordings(params, 1)[0]
        assert (split, int(label), file_name) == (expected[0], expected[1], f"{expected[2]}.bin")
        np.testing.assert_array_equal(decode_atis(archive.read(first)), expected[3])


def test_simulator_counts_threshold_crossings():
    """A ramp of 1.0 in log intensity with threshold 0.25 crosses 4 levels: 4 ON events, evenly spaced."""
    video = np.linspace(0, 1.0, 11)[:, None]
    t, pixel, p = simulate_dvs(video, 1000.0, np.array([0.25]), np.array([0.25]), refractory_us=0.0)
    np.testing.assert_allclose(t, [2500, 5000, 7500, 10000], atol=1e-6)
    assert pixel.tolist() == [0] * 4 and p.tolist() == [1] * 4
    t, _, p = simulate_dvs(video[::-1], 1000.0, np.array([0.25]), np.array([0.25]), refractory_us=0.0)
    assert p.tolist() == [0] * 4
    # a 4 ms refractory period leaves room for only two of them within the 10 ms ramp
    t, _, _ = simulate_dvs(video, 1000.0, np.array([0.25]), np.array([0.25]), refractory_us=4000.0)
    np.testing.assert_allclose(t, [2500, 6500])  # the second crossing waits out the refractory period


def test_schema_defaults_match_the_generator_defaults():
    schema = yaml.safe_load((REPO / "src/evrepro/config.schema.yaml").read_text())
    block = schema["$defs"]["embedded_digits"]["properties"]["generator"]["properties"]
    schema_defaults = {key: value["default"] for key, value in block.items()}
    assert digits.DigitsParams.from_config(schema_defaults) == digits.DigitsParams()
