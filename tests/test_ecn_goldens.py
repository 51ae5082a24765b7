"""ECN's streams against the original code's outputs on real recordings (tests/data/reference/README.md).

For each of the twelve cases (3 recordings × 4 datasets' LIF settings): every level equal event for event —
times, and pixels in the original's order after mapping evrepro's flattening ``y * W + x`` onto ECN's
``x * H + y`` — and every convolution's neighbourhood rows equal as sets of (partition, input event), with
evrepro's kernel-cell numbering (row-major over (dy, dx)) mapped onto ECN's (row-major over (dx, dy)).
The mappings are transcribed here from the geometry, not taken from the code under test.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from evrepro.events import read
from evrepro.events.atis import read_atis
from evrepro.streams.grid import CROSS_OFFSETS, ECN_PARTITIONS, from_ecn_pixels, to_ecn_pixels
from evrepro.streams.params import StreamParams, convolutions
from evrepro.streams.preprocess import preprocess_stream

REFERENCE = Path(__file__).parent / "data" / "reference"
CASES = json.loads((REFERENCE / "ecn_goldens.json").read_text())["cases"]
RECORDINGS = {"nmnist_sample": "nmnist/sample_nmnist.bin", "nmnist_1": "nmnist/1.bs2",
              "ncars_sample": "ncars/sample_ncars.dat"}


def ecn_partition_of(link: str) -> np.ndarray:
    """evrepro partition -> ECN partition of the same kernel cell, from each side's enumeration of offsets."""
    if link == "pointwise":
        return np.zeros(1, np.int64)
    if link == "strided":  # 3×3 window; evrepro: ky * 3 + kx, ECN (grid axes x, y): kx * 3 + ky
        ours = [(ky, kx) for ky in range(3) for kx in range(3)]
        ecn = [(kx, ky) for kx in range(3) for ky in range(3)]
    else:  # the 5×5 cross: ECN's cells are tf.where(mask) on a mask indexed [dx + 2, dy + 2], row-major
        mask = np.zeros((5, 5), bool)
        mask[2] = mask[:, 2] = True
        ecn = [(int(dx) - 2, int(dy) - 2) for dx, dy in np.argwhere(mask)]
        ours = list(CROSS_OFFSETS)  # (dy, dx)
        return np.array([ecn.index((dx, dy)) for dy, dx in ours])
    return np.array([ecn.index((kx, ky)) for ky, kx in ours])


def ecn_pixels(pixels: np.ndarray, shape_hw) -> np.ndarray:
    height, width = shape_hw
    return (pixels % width) * height + pixels // width


def rows_as_sorted_triples(partitions, indices, splits) -> np.ndarray:
    """(row, partition, index) of every entry, sorted: equal arrays <=> equal rows as sets (no duplicates)."""
    rows = np.repeat(np.arange(len(splits) - 1), np.diff(splits))
    triples = np.stack([rows, np.asarray(partitions, np.int64), np.asarray(indices, np.int64)], axis=1)
    return triples[np.lexsort(triples.T[::-1])]


@pytest.fixture(scope="module")
def goldens():
    with np.load(REFERENCE / "ecn_goldens.npz") as archive:
        yield {key: archive[key] for key in archive.files}


@pytest.fixture(scope="module")
def recordings(real_fixtures):
    def load(path):
        return read_atis(path) if path.suffix == ".bs2" else read(path)

    return {name: load(real_fixtures / file) for name, file in RECORDINGS.items()}


def test_the_partition_and_pixel_mappings_are_the_documented_ones():
    for link in ("strided", "cross", "pointwise"):
        np.testing.assert_array_equal(ECN_PARTITIONS[link], ecn_partition_of(link))
    shape = (7, 5)  # (height, width)
    pixels = np.arange(35)
    np.testing.assert_array_equal(to_ecn_pixels(pixels, shape), ecn_pixels(pixels, shape))
    np.testing.assert_array_equal(from_ecn_pixels(to_ecn_pixels(pixels, shape), shape), pixels)


@pytest.mark.parametrize("case", CASES, ids=[f"{c['recording']}-{c['params']}" for c in CASES])
def test_streams_and_neighbourhoods_equal_the_originals(case, goldens, recordings):
    params = StreamParams(num_levels=case["num_levels"], decay_time_us=float(case["decay_time_us"]),
                          threshold=case["threshold"], reset_potential=case["reset_potential"],
                          initial_pooling=case["initial_pooling"] or 1, max_events=case["max_events"])
    sample = preprocess_stream(recordings[case["recording"]], tuple(case["sensor_grid_WH"]), params)
    key = f"{case['recording']}/{case['params']}"

    assert [[width, height] for height, width in sample.shapes] == case["level_shapes_WH"]
    assert [stream.times.size for stream in sample.streams] == case["events_per_level"]
    for level, ((times, pixels), shape) in enumerate(zip(sample.streams, sample.shapes)):
        np.testing.assert_array_equal(times, goldens[f"{key}/level{level}/times"], err_msg=f"level {level} times")
        np.testing.assert_array_equal(ecn_pixels(pixels, shape), goldens[f"{key}/level{level}/pixels"],
                                      err_msg=f"level {level} pixels")

    convs = convolutions(params)
    assert sorted(conv.name for conv in convs) == case["convs"]
    for conv in convs:
        name = f"{key}/{conv.name}"
        splits, indices = goldens[f"{name}/splits"], goldens[f"{name}/indices"]
        partitions = goldens.get(f"{name}/partitions", np.zeros_like(indices))  # pointwise: one cell
        ours = sample.convs[conv.name]
        np.testing.assert_array_equal(np.diff(ours.indptr), np.diff(splits), err_msg=f"{conv.name} row lengths")
        expected = rows_as_sorted_triples(partitions, indices, splits)
        got = rows_as_sorted_triples(ecn_partition_of(conv.link)[ours.partitions], ours.indices, ours.indptr)
        np.testing.assert_array_equal(got, expected, err_msg=f"{conv.name} neighbourhoods")
        assert np.unique(expected, axis=0).shape == expected.shape  # rows hold no duplicates: sets, not multisets
