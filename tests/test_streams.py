"""ECN preprocessing against slow, obviously-correct references: links, spatial LIF, neighbourhoods."""

import math

import numpy as np
import pytest

from evrepro.events import read
from evrepro.streams.grid import CROSS_OFFSETS, cross_link, pointwise_link, strided_link, transpose
from evrepro.streams.lif import spatial_lif
from evrepro.streams.neighbors import neighbors


def reference_lif(times, pixels, in_shape, tau, threshold, reset):
    """Spatial LIF straight from the description, with windows computed from coordinates."""
    in_h, in_w = in_shape
    out_h, out_w = (in_h + 1) // 2, (in_w + 1) // 2
    potential, last, out = {}, {}, []
    for t, c in zip(times.tolist(), pixels.tolist()):
        y, x = divmod(c, in_w)
        fed = sorted(oy * out_w + ox for oy in range(out_h) for ox in range(out_w)
                     if abs(2 * oy - y) <= 1 and abs(2 * ox - x) <= 1)
        for o in fed:
            v = potential.get(o, 0.0) * math.exp(-(t - last.get(o, 0)) / tau) + 1 / len(fed)
            if v > threshold:
                out.append((t, o))
                v = reset
            potential[o], last[o] = v, t
    return out


def reference_neighbors(in_times, in_pixels, out_times, out_pixels, cells, buffer_size, duration):
    """For each output: per receptive-field cell, the last buffer_size-1 inputs at t <= t_o, then the window."""
    rows = []
    for t, u in zip(out_times.tolist(), out_pixels.tolist()):
        row = []
        for partition, v in cells(u):
            seen = [j for j in range(len(in_times)) if in_pixels[j] == v and in_times[j] <= t][-(buffer_size - 1):]
            row += [(partition, j) for j in seen if in_times[j] >= t - duration]
        rows.append(row)
    return rows


def random_stream(rng, n, shape, t_max, ties=False):
    times = np.sort(rng.integers(0, t_max // 50 if ties else t_max, n)) * (50 if ties else 1)
    return times.astype(np.int64), rng.integers(0, shape[0] * shape[1], n).astype(np.int64)


def as_rows(partitions, indices, splits):
    return [list(zip(partitions[a:b].tolist(), indices[a:b].tolist())) for a, b in zip(splits[:-1], splits[1:])]


def test_strided_link_geometry():
    link = strided_link((34, 34))
    assert link.out_shape == (17, 17)
    assert strided_link((5, 9)).out_shape == (3, 5)  # ceil(in / 2)
    # the corner output sees the 2×2 valid part of its 3×3 window, partitions of the kernel offsets
    corner = slice(link.splits[0], link.splits[1])
    assert link.indices[corner].tolist() == [0, 1, 34, 35] and link.partitions[corner].tolist() == [4, 5, 7, 8]
    assert np.diff(link.splits).max() == 9
    fed, splits = transpose(link)
    assert sorted(set(np.diff(splits).tolist())) == [1, 2, 4]  # |R(c)| by the parity of x and y


def test_cross_link_has_nine_cells_in_mask_order():
    link = cross_link((10, 10))
    centre = 5 * 10 + 5
    row = slice(link.splits[centre], link.splits[centre + 1])
    expected = [(5 + dy) * 10 + 5 + dx for dy, dx in CROSS_OFFSETS]
    assert link.indices[row].tolist() == expected and link.partitions[row].tolist() == list(range(9))
    assert np.diff(link.splits)[0] == 5  # a corner keeps only its in-grid cells


@pytest.mark.parametrize("seed", range(5))
def test_spatial_lif_matches_the_reference(seed):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(3, 12)), int(rng.integers(3, 12)))
    times, pixels = random_stream(rng, 2000, shape, 200_000, ties=seed % 2 == 1)
    out_t, out_p = spatial_lif(times, pixels, strided_link(shape), tau=2000.0, threshold=1.5, reset_potential=-3.0)
    assert list(zip(out_t.tolist(), out_p.tolist())) == reference_lif(times, pixels, shape, 2000.0, 1.5, -3.0)
    assert np.all(np.diff(out_t) >= 0) and np.isin(out_t, times).all()


def test_spatial_lif_edge_cases():
    link = strided_link((4, 4))
    empty = spatial_lif(np.zeros(0, np.int64), np.zeros(0, np.int64), link, 1000.0, 1.5, -3.0)
    assert empty[0].size == 0 and empty[1].size == 0
    # a saturated pixel: 40 simultaneous events at one even pixel feed one output with weight 1 each;
    # it fires on the 2nd (1 + 1 > 1.5), resets to -3, and fires again every 5 events
    out_t, out_p = spatial_lif(np.full(40, 7, np.int64), np.zeros(40, np.int64), link, 1000.0, 1.5, -3.0)
    assert out_t.tolist() == [7] * 8 and out_p.tolist() == [0] * 8


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", ["strided", "cross", "pointwise"])
def test_neighbors_match_the_reference(seed, kind):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(3, 9)), int(rng.integers(3, 9)))
    in_t, in_p = random_stream(rng, 600, shape, 100_000, ties=seed % 2 == 0)
    if kind == "strided":
        link = strided_link(shape)
        out_t, out_p = spatial_lif(in_t, in_p, link, 2000.0, 1.5, -3.0)
    else:
        link = cross_link(shape) if kind == "cross" else pointwise_link(shape)
        out_t, out_p = in_t, in_p  # in place: the stream onto itself
    buffer_size, duration = int(rng.choice([2, 4, 32])), float(rng.choice([3000, 8000]))

    def cells(u):
        a, b = link.splits[u], link.splits[u + 1]
        return zip(link.partitions[a:b].tolist(), link.indices[a:b].tolist())

    got = as_rows(*neighbors(in_t, in_p, out_t, out_p, link, buffer_size, duration))
    assert got == reference_neighbors(in_t, in_p, out_t, out_p, cells, buffer_size, duration)


def test_in_place_neighbourhoods_include_the_event_and_simultaneous_ones():
    times = np.array([0, 10, 10, 10], np.int64)
    pixels = np.array([0, 0, 0, 0], np.int64)
    partitions, indices, splits = neighbors(times, pixels, times, pixels, pointwise_link((2, 2)), 32, 100)
    rows = as_rows(partitions, indices, splits)
    assert [[j for _, j in row] for row in rows] == [[0], [0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2, 3]]
    empty = neighbors(np.zeros(0, np.int64), np.zeros(0, np.int64), times, pixels, pointwise_link((2, 2)), 32, 100)
    assert empty[2].tolist() == [0, 0, 0, 0, 0]


def test_unsorted_streams_are_refused():
    with pytest.raises(ValueError, match="sorted by time"):
        neighbors(np.array([5, 1]), np.array([0, 0]), np.array([5]), np.array([0]), pointwise_link((1, 1)))


def test_real_nmnist_recording_through_two_levels(real_fixtures):
    events = read(real_fixtures / "nmnist" / "sample_nmnist.bin")
    times, pixels = events["t"].astype(np.int64), events["y"].astype(np.int64) * 34 + events["x"]
    link0 = strided_link((34, 34))
    t0, p0 = spatial_lif(times, pixels, link0, 2000.0, 1.5, -3.0)
    assert list(zip(t0.tolist(), p0.tolist())) == reference_lif(times, pixels, (34, 34), 2000.0, 1.5, -3.0)
    assert 0 < t0.size < times.size and p0.max() < 17 * 17
    partitions, indices, splits = neighbors(times, pixels, t0, p0, link0, 32, 4 * 2000.0)
    assert splits.size == t0.size + 1 and np.all(times[indices] <= np.repeat(t0, np.diff(splits)))
    assert np.diff(splits).min() >= 1  # every LIF output has its triggering input as a neighbour


def test_stream_store_round_trip(tiny_digits, tmp_path):
    from evrepro.datasets.store import EventsStore
    from evrepro.streams.preprocess import PRESETS, conv_names, preprocess_stream
    from evrepro.streams.store import StreamStore, build_stream_store

    params = PRESETS["digits"]
    counts = build_stream_store(tiny_digits["store"], tmp_path / "s.h5", params, progress=False)
    with EventsStore(tiny_digits["store"]) as events, StreamStore(tmp_path / "s.h5") as streams:
        assert counts == {split: events.num_samples(split) for split in events.splits}
        assert streams.params == params and streams.shapes == [(34, 34), (17, 17), (9, 9), (5, 5)]
        for split, index in (("train", 0), ("test", 3)):
            stored = streams.sample(split, index)
            direct = preprocess_stream(events.sample(split, index), (34, 34), params)
            assert stored["label"] == events.labels(split)[index]
            for (t1, p1), (t2, p2) in zip(stored["streams"], direct["streams"]):
                np.testing.assert_array_equal(t1, t2)
                np.testing.assert_array_equal(p1, p2)
            assert list(stored["convs"]) == conv_names(params)
            for name in conv_names(params):
                for a, b in zip(stored["convs"][name], direct["convs"][name]):
                    np.testing.assert_array_equal(a, b)
