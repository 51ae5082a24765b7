"""The embedded ``traffic`` detection dataset: cars and pedestrians crossing a still event camera, written as Gen1.

Prophesee's Gen1 holds 60 s drives from a car-mounted ATIS with car and pedestrian boxes labelled a few times a
second. Here a still 64×48 sensor watches a textured street while cars (wide, with windows and wheels, fast) and
pedestrians (tall, with a swinging stride, slow) cross it at random lanes, speeds, directions and times. The scene is
rendered as a log-intensity video (each shape's pixel coverage exact, so sub-pixel motion changes the intensity), and
the DVS simulator of the ``digits`` set turns it into events (threshold mismatch, refractory period, background
activity). Every object whose box is at least half in view is labelled every ``label_every_ms``. Everything is fully
determined by (seed, split, recording).

The result is written with the real Gen1 layout and bytes: a zip of ``train|val|test/<recording>_td.dat`` (Event2D
with its ``%`` header) beside ``<recording>_bbox.npy`` (the released files' legacy ``ts``/``confidence`` fields), so
fetch → extract → events runs the code real Gen1 runs.
"""

import zipfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from evrepro.datasets.dvs_simulator import simulate_dvs
from evrepro.datasets.traffic_params import TrafficParams
from evrepro.events import make_events
from evrepro.events.boxes import BOX_DTYPE, encode_boxes
from evrepro.events.prophesee import encode_prophesee_dat

SENSOR_SIZE = (64, 48)  # (width, height): Gen1's 304×240 at about a fifth
CLASS_NAMES = ("car", "pedestrian")
STEP_US = 1000.0  # rendering step; crossing times are interpolated within it
BACKGROUND = 0.5
# an object is rectangles (x0, y0, x1, y1 relative to its box's top-left corner, intensity), drawn in order
CAR = (18.0, 9.0, ((0, 2, 18, 8, 0.15), (3, 0, 14, 3, 0.25), (4, 0.6, 8.5, 2.4, 0.8), (9.5, 0.6, 13, 2.4, 0.8),
                   (2, 7, 5, 9, 0.05), (13, 7, 16, 9, 0.05)))
PEDESTRIAN = (6.0, 15.0, ((1.5, 0, 4.5, 3, 0.85), (1, 3, 5, 9, 0.1)))


class _Object:
    """One crossing object: class, lane, speed, direction, entry time and stride phase."""

    def __init__(self, rng: np.random.Generator, params: TrafficParams, duration_us: float, track_id: int):
        width, height = SENSOR_SIZE
        self.class_id = int(rng.random() < params.pedestrian_fraction)
        self.track_id = track_id
        self.w, self.h, self.parts = PEDESTRIAN if self.class_id else CAR
        speed = rng.uniform(8, 16) if self.class_id else rng.uniform(25, 50)  # px/s
        self.velocity = speed * (1 if rng.random() < 0.5 else -1) * 1e-6  # px/µs
        self.y = rng.uniform(height * 0.45, height - self.h) if not self.class_id else rng.uniform(2, height - self.h)
        centre_time = rng.uniform(0.1, 0.9) * duration_us  # when it is mid-screen
        self.x_mid = width / 2 - self.w / 2
        self.centre_time = centre_time
        self.stride_hz = rng.uniform(1.5, 2.5)

    def x(self, t_us: np.ndarray) -> np.ndarray:
        return self.x_mid + self.velocity * (t_us - self.centre_time)

    def rectangles(self, t_us: np.ndarray):
        """(x0, x1, y0, y1, intensity) per part: x0 and x1 arrays over time (it moves sideways), y0 and y1 fixed."""
        x = self.x(t_us)
        for x0, y0, x1, y1, value in self.parts:
            yield x + x0, x + x1, self.y + y0, self.y + y1, value
        if self.class_id:  # two legs swinging apart and together
            swing = 1.2 * np.sin(2 * np.pi * self.stride_hz * t_us * 1e-6)
            for side in (-1, 1):
                foot = x + 3 + side * swing
                yield np.minimum(foot, x + 3) - 0.8, np.maximum(foot, x + 3) + 0.8, self.y + 9, self.y + 15, 0.1

    def box(self, t_us: float) -> tuple[float, float, float, float] | None:
        """The labelled box at ``t_us`` clipped to the sensor, or None when less than half of it is in view."""
        width, height = SENSOR_SIZE
        x0 = float(self.x(np.array([t_us]))[0])
        cx0, cy0 = max(x0, 0.0), max(self.y, 0.0)
        cx1, cy1 = min(x0 + self.w, width), min(self.y + self.h, height)
        if cx1 - cx0 < self.w / 2 or cy1 - cy0 < self.h / 2:
            return None
        return cx0, cy0, cx1 - cx0, cy1 - cy0


def _coverage(low, high, pixels: int) -> np.ndarray:
    """Fraction of each pixel [j, j + 1) inside [low, high], shape (..., pixels) for ``low`` and ``high`` of (...)."""
    edges = np.arange(pixels)
    low, high = np.asarray(low, np.float64)[..., None], np.asarray(high, np.float64)[..., None]
    return np.clip(np.minimum(high, edges + 1) - np.maximum(low, edges), 0.0, 1.0)


def render(objects: list[_Object], times: np.ndarray, texture: np.ndarray) -> np.ndarray:
    """The scene's intensity over time, (T, H, W): the textured street with each object's parts painted over it."""
    width, height = SENSOR_SIZE
    scene = np.broadcast_to(texture, (times.size, height, width)).copy()
    for item in objects:
        for x0, x1, y0, y1, value in item.rectangles(times):
            cover = _coverage(y0, y1, height)[None, :, None] * _coverage(x0, x1, width)[:, None, :]
            scene += cover * (value - scene)
    return scene


def street_texture(rng: np.random.Generator) -> np.ndarray:
    """A smooth random background around ``BACKGROUND``, (H, W): values on an 8-pixel grid, linearly interpolated
    (the still street gives no events of its own)."""
    width, height = SENSOR_SIZE
    coarse = rng.uniform(-0.1, 0.1, size=(height // 8 + 2, width // 8 + 2))
    across = np.stack([np.interp(np.arange(width) / 8, np.arange(coarse.shape[1]), row) for row in coarse])
    down = np.stack([np.interp(np.arange(height) / 8, np.arange(coarse.shape[0]), column) for column in across.T])
    return BACKGROUND + down.T


def record(params: TrafficParams, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Simulate one recording: its events and its labelled boxes (``BOX_DTYPE``)."""
    width, height = SENSOR_SIZE
    duration_us = params.duration_ms * 1000
    times = np.arange(0.0, duration_us + STEP_US, STEP_US)
    low, high = params.objects_per_recording
    objects = [_Object(rng, params, duration_us, track) for track in range(int(rng.integers(low, high + 1)))]
    intensity = render(objects, times, street_texture(rng)).reshape(times.size, -1)
    thresholds = np.maximum(rng.normal(params.contrast_threshold, params.threshold_mismatch, (2, width * height)),
                            0.05)
    t, pixel, p = simulate_dvs(np.log(0.05 + intensity), STEP_US, *thresholds, params.refractory_us)
    n_noise = rng.poisson(params.noise_hz_per_pixel * width * height * duration_us * 1e-6)
    t = np.concatenate([t, rng.uniform(0, duration_us, n_noise)])
    pixel = np.concatenate([pixel, rng.integers(0, width * height, n_noise)])
    p = np.concatenate([p, rng.integers(0, 2, n_noise).astype(np.int8)])
    order = np.argsort(t, kind="stable")
    events = make_events(np.floor(t[order]).astype(np.int64), pixel[order] % width, pixel[order] // width, p[order])
    return events, labelled_boxes(objects, params)


def labelled_boxes(objects: list[_Object], params: TrafficParams) -> np.ndarray:
    """Every object's box at every label time where at least half of it is in view, sorted by time."""
    step_us = params.label_every_ms * 1000
    rows = []
    for t_us in np.arange(step_us, params.duration_ms * 1000 + 1, step_us):
        for item in objects:
            if (box := item.box(float(t_us))) is not None:
                rows.append((int(t_us), *box, item.class_id, item.track_id, 1.0))
    boxes = np.zeros(len(rows), BOX_DTYPE)
    for i, row in enumerate(rows):
        boxes[i] = row
    return boxes


def recordings(params: TrafficParams):
    """Yield (split, recording id, events, boxes) for every recording, deterministically."""
    for split_index, (split, count) in enumerate(params.recordings().items()):
        for index in range(count):
            rng = np.random.default_rng([params.seed, split_index, index])
            yield split, f"traffic_{split}_{index:03d}", *record(params, rng)


def write_archive(path: str | Path, params: TrafficParams, progress: bool = True) -> int:
    """Write every recording into a Gen1-layout zip at ``path``; returns the recording count."""
    width, height = SENSOR_SIZE
    header = ("Data file containing Event2D events", "Version 2", f"Width {width}", f"Height {height}")
    total = sum(params.recordings().values())
    count = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for split, name, events, boxes in tqdm(recordings(params), total=total, desc="traffic: recording",
                                               disable=not progress, mininterval=2):
            archive.writestr(f"{split}/{name}_td.dat", encode_prophesee_dat(events, header, where=name))
            archive.writestr(f"{split}/{name}_bbox.npy", encode_boxes(boxes, "legacy", where=name))
            count += 1
    return count
