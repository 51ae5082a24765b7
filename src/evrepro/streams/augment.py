"""ECN's training augmentation of one event sample (jackd/ecn ``ecn/ops/augment.py``), in numpy.

Each flip is applied with its probability, in this order: ``flip_lr`` (x -> W - 1 - x), ``flip_ud``
(y -> H - 1 - y), ``flip_time`` (t -> t_last - t, order reversed, polarity inverted); then a rotation
by an angle drawn from U(-rotate_max, rotate_max) about the grid centre (W/2, H/2), rounded to whole
pixels, with the events that leave the grid dropped. There is no jitter, scaling or cropping.
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


def augment(events: np.ndarray, sensor_size: tuple[int, int], augmentation: Augmentation,
            rng: np.random.Generator) -> np.ndarray:
    """A randomly augmented copy of a time-sorted event sample (fields t, x, y, p) on a (width, height) sensor."""
    width, height = sensor_size
    out = events.copy()
    draws = rng.random(3)
    angle = rng.uniform(-augmentation.rotate_max, augmentation.rotate_max)
    if draws[0] < augmentation.flip_lr:
        out["x"] = width - 1 - out["x"]
    if draws[1] < augmentation.flip_ud:
        out["y"] = height - 1 - out["y"]
    if draws[2] < augmentation.flip_time and out.size:
        out = out[::-1].copy()
        out["t"] = out["t"][0] - out["t"]
        out["p"] = 1 - out["p"]
    if augmentation.rotate_max and out.size:
        cx, cy = width / 2, height / 2
        dx, dy = out["x"] - cx, out["y"] - cy
        cos, sin = np.cos(angle), np.sin(angle)
        x = np.round(cx + cos * dx - sin * dy).astype(np.int64)
        y = np.round(cy + sin * dx + cos * dy).astype(np.int64)
        inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
        out = out[inside]
        out["x"], out["y"] = x[inside], y[inside]
    return out
