"""ECN preprocessing against slow, obviously-correct references: links, spatial LIF, neighbourhoods."""

import json
import math

import numpy as np
import pytest

from evrepro.events import read
from evrepro.streams.grid import CROSS_OFFSETS, cross_link, pointwise_link, strided_link, transpose
from evrepro.streams.lif import spatial_lif
from evrepro.streams.neighbors import neighbors
from evrepro.streams.params import STREAM_ALGORITHM


def reference_lif(times, pixels, in_shape, tau, threshold, reset):
    """Spatial LIF straight from the description (the ECN paper's spatial LIF, jackd/numba-stream@79a1261 ``lif.py``), with windows computed from coordinates:
    potentials stored in float32, the update in float64, an input's output pixels visited in ECN's pixel order
    (x-major: ``x * H + y``)."""
    in_h, in_w = in_shape
    out_h, out_w = (in_h + 1) // 2, (in_w + 1) // 2
    potential, last, out = {}, {}, []
    for t, c in zip(times.tolist(), pixels.tolist()):
        y, x = divmod(c, in_w)
        fed = [oy * out_w + ox for ox in range(out_w) for oy in range(out_h)
               if abs(2 * oy - y) <= 1 and abs(2 * ox - x) <= 1]
        for o in fed:
            v = float(potential.get(o, np.float32(0))) * math.exp(-(t - last.get(o, 0)) / tau) + 1 / len(fed)
            if v > threshold:
                out.append((t, o))
                v = reset
            potential[o], last[o] = np.float32(v), t
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


def as_rows(partitions, indices, indptr):
    return [list(zip(partitions[a:b].tolist(), indices[a:b].tolist())) for a, b in zip(indptr[:-1], indptr[1:])]


def test_strided_link_geometry():
    link = strided_link((34, 34))
    assert link.out_shape == (17, 17)
    assert strided_link((5, 9)).out_shape == (3, 5)  # ceil(in / 2)
    # the corner output sees the 2×2 valid part of its 3×3 window, partitions of the kernel offsets
    corner = slice(link.indptr[0], link.indptr[1])
    assert link.indices[corner].tolist() == [0, 1, 34, 35] and link.partitions[corner].tolist() == [4, 5, 7, 8]
    assert np.diff(link.indptr).max() == 9
    fed, indptr = transpose(link)
    assert sorted(set(np.diff(indptr).tolist())) == [1, 2, 4]  # |R(c)| by the parity of x and y


def test_cross_link_has_nine_cells_in_mask_order():
    link = cross_link((10, 10))
    centre = 5 * 10 + 5
    row = slice(link.indptr[centre], link.indptr[centre + 1])
    expected = [(5 + dy) * 10 + 5 + dx for dy, dx in CROSS_OFFSETS]
    assert link.indices[row].tolist() == expected and link.partitions[row].tolist() == list(range(9))
    assert np.diff(link.indptr)[0] == 5  # a corner keeps only its in-grid cells


@pytest.mark.parametrize("seed", range(8))
def test_spatial_lif_matches_the_reference(seed):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(3, 12)), int(rng.integers(3, 12)))
    times, pixels = random_stream(rng, 2000, shape, 200_000, ties=seed % 2 == 1)
    # ECN's settings: N-MNIST, ASL-DVS, N-CARS, CIFAR10-DVS (thresholds 1.0 and 0.75 make float ties common)
    tau, threshold, reset = [(2000.0, 1.5, -3.0), (1000.0, 1.0, -3.0), (1000.0, 0.75, -1.0), (4000.0, 1.6, -3.0)][seed % 4]
    out_t, out_p = spatial_lif(times, pixels, strided_link(shape), tau, threshold, reset)
    assert list(zip(out_t.tolist(), out_p.tolist())) == reference_lif(times, pixels, shape, tau, threshold, reset)
    assert np.all(np.diff(out_t) >= 0) and np.isin(out_t, times).all()


def test_spatial_lif_stores_potentials_in_float32():
    """1 - exp(-1000 / 1442.695) = 0.50000001 in float64 but 0.5 in float32: the next simultaneous input brings
    the potential to exactly the threshold 1.5 in float32 (no event, as ECN) and above it in float64."""
    link = strided_link((1, 1))  # one input pixel feeding one output pixel with weight 1
    times = np.array([0, 0, 1000, 1000], np.int64)
    out_t, _ = spatial_lif(times, np.zeros(4, np.int64), link, 1442.695, threshold=1.5, reset_potential=-1.0)
    assert out_t.tolist() == [0]  # the second input fires (2 > 1.5) and resets to -1; the fourth does not


def test_simultaneous_outputs_come_in_ecns_pixel_order():
    """An input at an odd (x, y) feeds four outputs; with weight 1/4 and threshold 0.2 all four fire at once,
    in ECN's x-major order (x * H + y), not evrepro's row-major one."""
    link = strided_link((3, 3))  # outputs 2×2; input (y, x) = (1, 1) is in every window
    out_t, out_p = spatial_lif(np.array([5], np.int64), np.array([1 * 3 + 1], np.int64), link, 1000.0, 0.2, -1.0)
    assert out_t.tolist() == [5] * 4
    assert out_p.tolist() == [0, 2, 1, 3]  # (y, x) = (0, 0), (1, 0), (0, 1), (1, 1)


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
        a, b = link.indptr[u], link.indptr[u + 1]
        return zip(link.partitions[a:b].tolist(), link.indices[a:b].tolist())

    got = as_rows(*neighbors(in_t, in_p, out_t, out_p, link, buffer_size, duration))
    assert got == reference_neighbors(in_t, in_p, out_t, out_p, cells, buffer_size, duration)


def test_in_place_neighbourhoods_include_the_event_and_simultaneous_ones():
    times = np.array([0, 10, 10, 10], np.int64)
    pixels = np.array([0, 0, 0, 0], np.int64)
    partitions, indices, indptr = neighbors(times, pixels, times, pixels, pointwise_link((2, 2)), 32, 100)
    rows = as_rows(partitions, indices, indptr)
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
    partitions, indices, indptr = neighbors(times, pixels, t0, p0, link0, 32, 4 * 2000.0)
    assert indptr.size == t0.size + 1 and np.all(times[indices] <= np.repeat(t0, np.diff(indptr)))
    assert np.diff(indptr).min() >= 1  # every LIF output has its triggering input as a neighbour


def test_stream_store_round_trip(tiny_digits, tmp_path):
    from evrepro.datasets.store import EventsStore
    from evrepro.streams.params import PRESETS, convolutions
    from evrepro.streams.preprocess import preprocess_stream
    from evrepro.streams.store import StreamStore, build_stream_store

    params = PRESETS["digits"]
    counts = build_stream_store(tiny_digits["store"], tmp_path / "s.h5", params, progress=False)
    with EventsStore(tiny_digits["store"]) as events, StreamStore(tmp_path / "s.h5") as streams:
        assert counts == {split: events.num_samples(split) for split in events.splits}
        assert streams.params == params and streams.shapes == [(34, 34), (17, 17), (9, 9), (5, 5)]
        assert json.loads(streams.handle.attrs["params"])["algorithm"] == STREAM_ALGORITHM
        for split, index in (("train", 0), ("test", 3)):
            stored = streams.sample(split, index)
            direct = preprocess_stream(events.sample(split, index), (34, 34), params)
            assert stored.label == events.labels(split)[index]
            for (t1, p1), (t2, p2) in zip(stored.streams, direct.streams):
                np.testing.assert_array_equal(t1, t2)
                np.testing.assert_array_equal(p1, p2)
            names = [conv.name for conv in convolutions(params)]
            assert list(stored.convs) == list(direct.convs) == names
            np.testing.assert_array_equal(stored.polarity, direct.polarity)
            for name in names:
                for a, b in zip(stored.convs[name], direct.convs[name]):
                    np.testing.assert_array_equal(a, b)


def test_stream_caches_are_keyed_by_the_algorithm_version():
    """A cache's id hashes the stream algorithm's version with the parameters: caches computed by other
    arithmetic (version 1: float64 potentials, another order of simultaneous outputs) are rebuilt, not reused."""
    from dataclasses import replace

    from evrepro.caches import cache_id, cache_params
    from evrepro.streams.params import PRESETS
    from evrepro.streams.preprocess import preprocess_stream
    from evrepro.streams.store import build_stream_store, stored_params

    params = cache_params({"family": "ecn", "preprocessing": {"preset": "digits"}})
    assert params.algorithm == STREAM_ALGORITHM == 2 and params.as_dict()["algorithm"] == STREAM_ALGORITHM
    for other in (STREAM_ALGORITHM - 1, STREAM_ALGORITHM + 1):
        assert cache_id(replace(params, algorithm=other)) != cache_id(params)
    assert cache_id(replace(PRESETS["digits"])) == cache_id(params)  # the same code and parameters: the same id
    # a store written before versions were recorded holds version 1; this code computes only its own version
    old = {key: value for key, value in params.as_dict().items() if key != "algorithm"}
    assert stored_params(**old).algorithm == 1 and stored_params(**params.as_dict()) == params
    events = _events([0, 10], [1, 2], [1, 2], [0, 1])
    with pytest.raises(ValueError, match="stream algorithm 1 asked for"):
        preprocess_stream(events, (34, 34), replace(params, algorithm=1))
    with pytest.raises(ValueError, match="stream algorithm 1 asked for"):
        build_stream_store("unused.h5", "unused-out.h5", replace(params, algorithm=1), progress=False)


def test_the_stored_training_split_holds_augmented_copies_and_val_test_stay_plain(tiny_digits, tmp_path):
    from dataclasses import replace

    from evrepro.datasets.store import EventsStore
    from evrepro.streams.augment import augment
    from evrepro.streams.params import PRESETS
    from evrepro.streams.preprocess import preprocess_stream
    from evrepro.streams.store import StreamStore, build_stream_store

    params = replace(PRESETS["digits"], cache_repeats=3, flip_time=0.5, rotate_max=0.4, augment_seed=7)
    counts = build_stream_store(tiny_digits["store"], tmp_path / "s.h5", params, progress=False)
    with EventsStore(tiny_digits["store"]) as events, StreamStore(tmp_path / "s.h5") as streams:
        n = events.num_samples("train")
        assert counts["train"] == 3 * n and counts["val"] == events.num_samples("val")
        assert streams.copies("train") == 3 and streams.copies("test") == 1
        np.testing.assert_array_equal(streams.labels("train"), np.tile(events.labels("train"), 3))
        for copy, index in ((0, 0), (2, n - 1)):  # copy r of sample i is stored at r * n + i
            raw = events.sample("train", index)
            expected = preprocess_stream(augment(raw, (34, 34), params.augmentation,
                                                 np.random.default_rng([7, index, copy])), (34, 34), params)
            stored = streams.sample("train", copy * n + index)
            np.testing.assert_array_equal(stored.streams[0].pixels, expected.streams[0].pixels)
            np.testing.assert_array_equal(stored.convs["stem"].indices, expected.convs["stem"].indices)
        copies = [streams.sample("train", r * n).streams[0].pixels for r in range(3)]
        assert not all(np.array_equal(copies[0], c) for c in copies[1:])  # the copies differ
        plain = preprocess_stream(events.sample("test", 1), (34, 34), params)
        np.testing.assert_array_equal(streams.sample("test", 1).streams[1].pixels, plain.streams[1].pixels)


def _events(t, x, y, p):
    from evrepro.events import make_events

    return make_events(np.asarray(t), np.asarray(x), np.asarray(y), np.asarray(p))


def test_augmentation_flips_reverse_time_with_inverted_polarity_and_rotation_drops_what_leaves():
    from evrepro.streams.augment import Augmentation, augment

    events = _events([0, 10, 25], [0, 5, 9], [1, 2, 3], [1, 0, 0])
    rng = np.random.default_rng(0)
    flipped = augment(events, (10, 4), Augmentation(flip_lr=1, flip_ud=1), rng)
    assert flipped["x"].tolist() == [9, 4, 0] and flipped["y"].tolist() == [2, 1, 0]
    reversed_ = augment(events, (10, 4), Augmentation(flip_time=1), rng)
    assert reversed_["t"].tolist() == [0, 15, 25] and reversed_["x"].tolist() == [9, 5, 0]
    assert reversed_["p"].tolist() == [1, 1, 0]  # order reversed, then inverted
    assert augment(events, (10, 4), Augmentation(), rng).tolist() == events.tolist()
    # rotation about the centre by up to 90°: corners of a wide grid leave it and are dropped
    grid = _events(np.arange(40), np.tile(np.arange(10), 4), np.repeat(np.arange(4), 10), np.zeros(40))
    rotated = augment(grid, (10, 4), Augmentation(rotate_max=np.pi / 2), np.random.default_rng(3))
    assert 0 < rotated.size < grid.size
    assert rotated["x"].max() < 10 and rotated["y"].max() < 4 and np.all(np.diff(rotated["t"]) > 0)
    again = augment(grid, (10, 4), Augmentation(rotate_max=np.pi / 2), np.random.default_rng(3))
    assert again.tolist() == rotated.tolist()  # seeded


def test_epoch_order_visits_every_sample_once_and_depends_only_on_seed_and_epoch():
    from evrepro.streams.batches import epoch_order

    order = epoch_order(100, 250, 32, shuffle=True, seed=1, epoch=4, block_size=16, buffer_blocks=4)
    samples = np.concatenate(order.samples)
    assert sorted(samples.tolist()) == list(range(100, 350)) and order.num_batches == 8
    assert np.any(np.diff(samples) != 1)
    same = epoch_order(100, 250, 32, shuffle=True, seed=1, epoch=4, block_size=16, buffer_blocks=4)
    other = epoch_order(100, 250, 32, shuffle=True, seed=1, epoch=5, block_size=16, buffer_blocks=4)
    assert np.array_equal(samples, np.concatenate(same.samples))
    assert not np.array_equal(samples, np.concatenate(other.samples))
    plain = epoch_order(0, 70, 32, shuffle=False)
    assert np.concatenate(plain.samples).tolist() == list(range(70))


def test_batches_resume_at_any_position_and_collate_to_global_indices(tiny_digits, tmp_path):
    from evrepro.streams.batches import collate, epoch_order, read_batches
    from evrepro.streams.params import PRESETS, convolutions
    from evrepro.streams.store import StreamStore, build_stream_store

    params = PRESETS["digits"]
    build_stream_store(tiny_digits["store"], tmp_path / "s.h5", params, progress=False)
    with StreamStore(tmp_path / "s.h5") as store:
        n = store.num_samples("train")
        order = epoch_order(0, n, 5, shuffle=True, seed=0, epoch=1, block_size=4, buffer_blocks=3)
        every = [[s.label for s in batch] for batch in read_batches(store, "train", order)]
        assert len(every) == order.num_batches and sum(map(len, every)) == n
        expected = [store.labels("train")[order_indices].tolist()
                    for order_indices in np.array_split(np.concatenate(order.samples), np.arange(5, n, 5))]
        assert every == expected
        for start in (1, 4, len(every) - 1):  # the input pipeline's position: (epoch, batch)
            tail = [[s.label for s in batch] for batch in read_batches(store, "train", order, start)]
            assert tail == every[start:]

        samples = [store.sample("test", i) for i in (0, 3, 5)]
        batch = collate(samples, params, voxel_levels=[0, 2])
    assert batch["batch_size"] == 3 and batch["labels"].tolist() == [s.label for s in samples]
    sizes = [[s.streams[k].times.size for k in range(4)] for s in samples]
    assert batch["sizes"].tolist() == np.sum(sizes, axis=0).tolist()
    assert batch["polarity"].tolist() == np.concatenate([s.polarity for s in samples]).tolist()
    for conv in convolutions(params):  # rebuild every edge of the last sample from its own data
        name, scale, source, target, parts = conv.name, conv.time_scale_us, conv.source, conv.target, conv.partitions
        partitions, indices, indptr = samples[2].convs[name]
        first_edge = sum(s.convs[name].indices.size for s in samples[:2])
        out_offset, in_offset = sum(sz[target] for sz in sizes[:2]), sum(sz[source] for sz in sizes[:2])
        rows = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
        segments = batch[f"{name}_segments"][first_edge:]
        assert segments.tolist() == ((rows + out_offset) * parts + partitions).tolist()
        assert batch[f"{name}_sources"][first_edge:].tolist() == (indices + in_offset).tolist()
        times_out, times_in = samples[2].streams[target].times, samples[2].streams[source].times
        np.testing.assert_allclose(batch[f"{name}_dt"][first_edge:], (times_out[rows] - times_in[indices]) / scale,
                                   rtol=1e-6)
        assert np.all(batch[f"{name}_dt"] >= 0) and np.all(batch[f"{name}_dt"] <= params.max_decays)
    t_end = samples[1].streams[0].times[-1] + 1
    times, pixels = samples[1].streams[3]
    voxels = batch["voxel2"][sizes[0][3] : sizes[0][3] + sizes[1][3]]  # level 2: one frame of 5×5
    assert voxels.tolist() == ((1 + np.floor(times / t_end)) * 25 + pixels).astype(int).tolist()  # sample 1, frame 0
    frames = (batch["voxel0"] // (17 * 17)) % 4  # level 0: four frames
    assert set(frames.tolist()) == {0, 1, 2, 3}


def test_the_convolutions_of_a_three_level_network():
    """Names, streams, links, time scales and windows straight from the module docstring's formulas."""
    from evrepro.streams.params import PRESETS, Convolution, convolutions

    params = PRESETS["digits"]  # tau_0 = 2 ms, doubling per level; windows 4 tau; pointwise 4 tau
    tau = [2000.0 * 2 ** (i + 1) for i in range(-1, 3)]  # stem, level 0, 1, 2
    expected = [Convolution("stem", 0, 1, "strided", tau[0], 4 * tau[0])]
    for i in range(3):
        expected += [Convolution(f"level{i}_cross", i + 1, i + 1, "cross", tau[i + 1], 4 * tau[i + 1]),
                     Convolution(f"level{i}_point", i + 1, i + 1, "pointwise", 4 * tau[i + 1], 16 * tau[i + 1])]
        if i < 2:
            expected.append(Convolution(f"level{i}_down", i + 1, i + 2, "strided", tau[i + 1], 4 * tau[i + 1]))
    assert convolutions(params) == expected
    assert [conv.partitions for conv in expected[:3]] == [9, 9, 1]
