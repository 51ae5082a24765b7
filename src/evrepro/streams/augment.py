"""ECN's training augmentation of one event sample (jackd/ecn@3e76535 ``ecn/ops/augment.py``), in numpy.

A sample's random choices (``draw``): each flip with its probability and one angle ~ U(-rotate_max, rotate_max).
Applied (``apply``) in ECN's order: ``flip_lr`` (x -> W - 1 - x), ``flip_ud`` (y -> H - 1 - y), ``flip_time``
(t -> t_last - t, order reversed, polarity inverted); then, when ``rotate_max`` is set, a rotation about the grid
centre (W/2, H/2) computed in float32 as ECN computes it — (x', y') = (dx·cos − dy·sin, dx·sin + dy·cos) + centre,
with (dx, dy) the offset from the centre, rounded half to even (``tf.round``) — with the events that leave the
grid dropped. There is no jitter, scaling or cropping.

Differences from the original: the random numbers come from numpy's generator seeded per (seed, sample, copy),
not from tfrng's stateless maps, so the draws have ECN's distribution but not its values (deliberate: the caches
must not depend on TensorFlow). For a given angle the rotation is ECN's own float32 arithmetic, except that
numpy's float32 cos and sin can differ from TensorFlow's by one float32 step: over the real recordings and a full
240×180 grid, 300 angles, 5 of 16.3 million rotated events round to another pixel than TensorFlow's (with
TensorFlow's cos and sin, none; in float64, 156).
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Augmentation:
    """Per-sample probabilities of each flip and the largest rotation angle (radians)."""

    flip_lr: float = 0.0
    flip_ud: float = 0.0
    flip_time: float = 0.0
    rotate_max: float = 0.0

    @property
    def active(self) -> bool:
        return any((self.flip_lr, self.flip_ud, self.flip_time, self.rotate_max))


@dataclass(frozen=True)
class Draw:
    """One sample's augmentation: which flips apply, and the rotation angle (None: no rotation)."""

    flip_lr: bool = False
    flip_ud: bool = False
    flip_time: bool = False
    angle: float | None = None


def draw(augmentation: Augmentation, rng: np.random.Generator) -> Draw:
    """A sample's random choices: three uniforms for the flips, then the angle (always drawn, so the generator
    advances the same whatever the settings)."""
    draws = rng.random(3)
    angle = rng.uniform(-augmentation.rotate_max, augmentation.rotate_max)
    return Draw(bool(draws[0] < augmentation.flip_lr), bool(draws[1] < augmentation.flip_ud),
                bool(draws[2] < augmentation.flip_time), float(angle) if augmentation.rotate_max else None)


def rotate(x: np.ndarray, y: np.ndarray, sensor_size: tuple[int, int], angle: float):
    """Coordinates rotated by ``angle`` about the grid centre in float32 and rounded half to even (int64)."""
    width, height = sensor_size
    cx, cy = np.float32(width) / np.float32(2), np.float32(height) / np.float32(2)
    radians = np.float32(angle)
    cos, sin = np.cos(radians), np.sin(radians)
    dx, dy = np.asarray(x, np.float32) - cx, np.asarray(y, np.float32) - cy
    # ECN: (coords - centre) @ [[cos, sin], [-sin, cos]] + centre, every step in float32
    rx = (dx * cos + dy * (-sin)) + cx
    ry = (dx * sin + dy * cos) + cy
    return np.round(rx).astype(np.int64), np.round(ry).astype(np.int64)


def apply(events: np.ndarray, sensor_size: tuple[int, int], choice: Draw) -> np.ndarray:
    """A copy of a time-sorted event sample (fields t, x, y, p) on a (width, height) sensor, augmented as ``choice``
    says."""
    width, height = sensor_size
    out = events.copy()
    if choice.flip_lr:
        out["x"] = width - 1 - out["x"]
    if choice.flip_ud:
        out["y"] = height - 1 - out["y"]
    if choice.flip_time and out.size:
        out = out[::-1].copy()
        out["t"] = out["t"][0] - out["t"]
        out["p"] = 1 - out["p"]
    if choice.angle is not None and out.size:
        x, y = rotate(out["x"], out["y"], sensor_size, choice.angle)
        inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
        out = out[inside]
        out["x"], out["y"] = x[inside], y[inside]
    return out


def augment(events: np.ndarray, sensor_size: tuple[int, int], augmentation: Augmentation,
            rng: np.random.Generator) -> np.ndarray:
    """A randomly augmented copy of a time-sorted event sample (fields t, x, y, p) on a (width, height) sensor."""
    return apply(events, sensor_size, draw(augmentation, rng))
