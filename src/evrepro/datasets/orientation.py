"""Orientation fixes: how a dataset's stored events are turned to the orientation its papers used.

``events.read`` returns a file's own coordinates; the events stage applies a dataset's fixes (its
registry entry's ``orientation``) to every sample of every split and records them in the store's
``orientation`` attribute and parameters, so caches built on differently oriented events never mix.
"""

import numpy as np


def flip_x(events: np.ndarray, sensor_size: tuple[int, int]) -> None:
    """x -> width - 1 - x (CIFAR10-DVS, as its dat2mat.m and events-tfds read it)."""
    events["x"] = sensor_size[0] - 1 - events["x"]


def flip_y(events: np.ndarray, sensor_size: tuple[int, int]) -> None:
    """y -> height - 1 - y (ASL-DVS stores its y axis upside down)."""
    events["y"] = sensor_size[1] - 1 - events["y"]


def invert_polarity(events: np.ndarray, sensor_size: tuple[int, int]) -> None:
    """p -> 1 - p (CIFAR10-DVS, as events-tfds and ECN read it)."""
    events["p"] = 1 - events["p"]


FIXES = {"flip_x": flip_x, "flip_y": flip_y, "invert_polarity": invert_polarity}


def orient(events: np.ndarray, fixes: tuple[str, ...], sensor_size: tuple[int, int]) -> np.ndarray:
    """``events`` with ``fixes`` applied in order (a copy when there is anything to apply)."""
    if not fixes:
        return events
    events = events.copy()
    for name in fixes:
        FIXES[name](events, sensor_size)
    return events
