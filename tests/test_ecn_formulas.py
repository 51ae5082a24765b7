"""ECN's augmentation and voxel indices against direct transcriptions of ECN's formulas (jackd/ecn@3e76535), on the
real recordings.

Augmentation (``ecn/ops/augment.py``, in ECN's order): flip_lr x -> W - 1 - x; flip_ud y -> H - 1 - y; flip_time
t -> t_last - t with the order reversed and polarity inverted; rotation of the coordinates about (W/2, H/2) —
in float32, as ECN's TensorFlow op: (x, y) - centre times [[cos, sin], [-sin, cos]] from the right, plus the
centre — rounded half to even, with the events that leave the grid dropped.

Voxels (``SpatialStream.voxelize`` in ``ecn/components.py``): level i of L has 2**(L - 1 - i) frames; an event's
frame is floor(frames · t / t_end), t_end = the sample's last input time + 1, computed as ECN does ((t / t_end) ·
frames in float64, truncated); ECN scatters into [B, frames, W, H] at ravel(b, frame, x·H + y), evrepro into [B,
frames, H, W] at ravel(b, frame, y·W + x): the same voxel, with the spatial axes transposed.
"""

import itertools
import math

import numpy as np
import pytest

from evrepro.events import read
from evrepro.events.atis import read_atis
from evrepro.streams.augment import Augmentation, Draw, apply, augment, draw
from evrepro.streams.batches import collate
from evrepro.streams.params import PRESETS
from evrepro.streams.preprocess import preprocess_stream

RECORDINGS = {"nmnist_sample": ("nmnist/sample_nmnist.bin", (34, 34)), "nmnist_1": ("nmnist/1.bs2", (34, 34)),
              "ncars_sample": ("ncars/sample_ncars.dat", (120, 100))}


@pytest.fixture(scope="module")
def recordings(real_fixtures):
    def load(path):
        return read_atis(path) if path.suffix == ".bs2" else read(path)

    return {name: (load(real_fixtures / file), sensor) for name, (file, sensor) in RECORDINGS.items()}


def ecn_augment(events, sensor, flip_lr, flip_ud, flip_time, angle):
    """ECN's augmentation, event by event: a list of (t, x, y, p)."""
    width, height = sensor
    rows = [(int(e["t"]), int(e["x"]), int(e["y"]), int(e["p"])) for e in events]
    if flip_lr:
        rows = [(t, width - 1 - x, y, p) for t, x, y, p in rows]
    if flip_ud:
        rows = [(t, x, height - 1 - y, p) for t, x, y, p in rows]
    if flip_time and rows:
        t_last = rows[-1][0]
        rows = [(t_last - t, x, y, 1 - p) for t, x, y, p in reversed(rows)]
    if angle is not None:
        f32 = np.float32
        radians = f32(angle)
        cos, sin = np.cos(radians), np.sin(radians)
        cx, cy = f32(width) / f32(2), f32(height) / f32(2)
        rotated = []
        for t, x, y, p in rows:
            dx, dy = f32(x) - cx, f32(y) - cy
            rx = f32(f32(dx * cos) + f32(dy * -sin)) + cx
            ry = f32(f32(dx * sin) + f32(dy * cos)) + cy
            nx, ny = round(float(rx)), round(float(ry))  # Python's round: half to even, as tf.round
            if 0 <= nx < width and 0 <= ny < height:
                rotated.append((t, nx, ny, p))
        rows = rotated
    return rows


ANGLES = [None, math.pi / 8, -math.pi / 8, math.pi / 4, -0.3, 1e-3, math.pi / 2, -3.0]


@pytest.mark.parametrize("name", RECORDINGS)
def test_augmentation_equals_the_formulas_on_real_recordings(name, recordings):
    events, sensor = recordings[name]
    choices = [Draw(*flips) for flips in itertools.product((False, True), repeat=3)]  # every flip, no rotation
    choices += [Draw(k % 2 == 1, k % 3 == 1, k % 4 >= 2, angle) for k, angle in enumerate(ANGLES[1:])]
    for choice in choices:
        got = apply(events, sensor, choice)
        expected = ecn_augment(events, sensor, choice.flip_lr, choice.flip_ud, choice.flip_time, choice.angle)
        assert [tuple(map(int, (e["t"], e["x"], e["y"], e["p"]))) for e in got] == expected, choice
        assert np.all(np.diff(got["t"]) >= 0)
        if choice.angle is not None and abs(choice.angle) >= math.pi / 8:
            assert got.size < events.size  # some events leave the grid and are dropped
    np.testing.assert_array_equal(apply(events, sensor, Draw()), events)


def test_rotation_rounds_as_ecns_float32_op_where_float64_would_not():
    """Pixels where ECN's op (tf.round(tf.matmul(coords - centre, rot) + centre) in float32, evaluated with
    TensorFlow 2.21 for this test) and the same rotation in float64 round differently: evrepro rounds as ECN."""
    angle = -0.3349229097366333  # a float32 value
    events = np.zeros(4, dtype=[("t", "i8"), ("x", "u2"), ("y", "u2"), ("p", "i1")])
    events["t"], events["x"], events["y"] = np.arange(4), [27, 5, 29, 7], [5, 7, 27, 29]
    got = apply(events, (34, 34), Draw(angle=angle))
    assert list(zip(got["x"].tolist(), got["y"].tolist())) == [(22, 2), (2, 12), (32, 22), (12, 32)]
    c, s = math.cos(angle), math.sin(angle)
    in_float64 = [(round(17 + c * (x - 17) - s * (y - 17)), round(17 + s * (x - 17) + c * (y - 17)))
                  for x, y in zip(events["x"].tolist(), events["y"].tolist())]
    assert in_float64 == [(23, 2), (2, 11), (32, 23), (11, 32)]


def test_draws_follow_the_probabilities_and_the_angle_range():
    augmentation = Augmentation(flip_lr=0.5, flip_ud=0.25, flip_time=0.75, rotate_max=math.pi / 8)
    rng = np.random.default_rng(0)
    draws = [draw(augmentation, rng) for _ in range(4000)]
    for field, p in (("flip_lr", 0.5), ("flip_ud", 0.25), ("flip_time", 0.75)):
        assert abs(np.mean([getattr(d, field) for d in draws]) - p) < 0.03, field
    angles = np.array([d.angle for d in draws])
    assert np.all(np.abs(angles) <= math.pi / 8) and abs(angles.mean()) < 0.01 and angles.std() > 0.2
    never = draw(Augmentation(), rng)
    assert never == Draw() and draw(Augmentation(1.0, 1.0, 1.0), rng) == Draw(True, True, True, None)
    # augment = apply(draw): the same generator state gives the same copy
    events, sensor = np.zeros(0, dtype=[("t", "i8"), ("x", "u2"), ("y", "u2"), ("p", "i1")]), (34, 34)
    assert augment(events, sensor, augmentation, np.random.default_rng(5)).size == 0
    assert draw(augmentation, np.random.default_rng(5)) == draw(augmentation, np.random.default_rng(5))


def ecn_voxels(samples, num_levels, level):
    """ECN's flat voxel index of every event of ``level`` in a batch, and its grid (W, H)."""
    frames = 2 ** (num_levels - 1 - level)
    height, width = samples[0].shapes[level + 1]
    out = []
    for b, sample in enumerate(samples):
        t_end = int(sample.streams[0].times[-1]) + 1
        times, pixels = sample.streams[level + 1]
        for t, pixel in zip(times.tolist(), pixels.tolist()):
            y, x = divmod(pixel, width)
            frame = int((t / t_end) * frames)
            out.append((b * frames + frame) * (width * height) + (x * height + y))
    return np.array(out, np.int64), (width, height), frames


@pytest.mark.parametrize("preset, names", [("nmnist", ["nmnist_sample", "nmnist_1"]),
                                           ("cifar10-dvs", ["nmnist_1", "nmnist_sample"]),
                                           ("asl-dvs", ["nmnist_sample", "nmnist_1"]),
                                           ("ncars", ["ncars_sample", "ncars_sample"])])
def test_voxel_indices_equal_the_formula_on_real_recordings(preset, names, recordings):
    params = PRESETS[preset]
    samples = []
    for k, name in enumerate(names):
        events, sensor = recordings[name]
        if k:  # a second sample of another length: its own t_end
            events = events[: events.size * 2 // 3]
        samples.append(preprocess_stream(events, sensor, params))
    levels = list(range(params.num_levels))
    batch = collate(samples, params, voxel_levels=levels)
    for level in levels:
        expected, (width, height), frames = ecn_voxels(samples, params.num_levels, level)
        ours = batch[f"voxel{level}"].astype(np.int64)
        assert ours.size == expected.size
        # evrepro [B, frames, H, W] -> ECN's [B, frames, W, H]
        bf, y, x = ours // (height * width), ours % (height * width) // width, ours % width
        np.testing.assert_array_equal(bf * (width * height) + x * height + y, expected, err_msg=f"level {level}")
        assert np.all(bf // frames < len(samples)) and set((bf % frames).tolist()) <= set(range(frames))
        if frames > 1 and samples[0].streams[level + 1].times.size > 10:
            assert len(set((bf % frames).tolist())) > 1  # the events spread over several frames
