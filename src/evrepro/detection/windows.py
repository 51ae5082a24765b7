"""Which windows of a recording's events become detection samples, and which boxes are their labels.

- ``label`` (the default): one sample per labelled time ``t`` of the recording (after the box filter), holding the
  events of ``(t - window_us, t]`` — only what the camera had seen when the label was taken (causal) — and every
  kept box labelled at ``t``.
- ``original``: AEGNN's Gen1 samples (``aegnn/datasets/gen1.py``): one sample per kept *box*, holding the events of
  ``[t - 100 ms, t + 300 ms]`` (300 ms after the label: the model sees the future) and every kept box labelled
  within that window; a window with fewer than ``min_events`` events (the original: 4,000) is skipped. A time with
  several boxes gives as many near-identical samples.
"""

from dataclasses import asdict, dataclass

import numpy as np

from evrepro.detection.filters import BOX_FILTERS, BoxFilter

MODES = ("label", "original")
ORIGINAL_BEFORE_US, ORIGINAL_AFTER_US = 100_000, 300_000


@dataclass(frozen=True)
class Window:
    """One sample: events with ``start <= t < stop``, labelled at ``label_t`` with ``boxes`` (``BOX_DTYPE``)."""

    start: int
    stop: int
    label_t: int
    boxes: np.ndarray


@dataclass(frozen=True)
class WindowParams:
    """How a detection dataset's recordings become samples (part of the graph cache's parameters)."""

    mode: str = "label"
    window_us: int = 100_000  # ``label`` mode's window before the label time
    box_filter: str = "gen1"  # a name of ``evrepro.detection.filters.BOX_FILTERS``
    min_events: int = 0  # fewer events: no sample (the original: 4,000)

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"window mode {self.mode!r} is none of {', '.join(MODES)}")
        if self.box_filter not in BOX_FILTERS:
            raise ValueError(f"box filter {self.box_filter!r} is none of {', '.join(BOX_FILTERS)}")

    @property
    def filter(self) -> BoxFilter:
        return BOX_FILTERS[self.box_filter]

    def as_dict(self) -> dict:
        return asdict(self)


def windows(boxes: np.ndarray, params: WindowParams) -> list[Window]:
    """The samples of one recording from its boxes (``BOX_DTYPE``, any order), in time order."""
    kept = params.filter.apply(boxes)
    kept = kept[np.argsort(kept["t"], kind="stable")]
    if params.mode == "label":
        return [Window(int(t) - params.window_us + 1, int(t) + 1, int(t), kept[kept["t"] == t])
                for t in np.unique(kept["t"])]
    samples = []
    for t in kept["t"]:
        start, stop = int(t) - ORIGINAL_BEFORE_US, int(t) + ORIGINAL_AFTER_US + 1
        samples.append(Window(start, stop, int(t), kept[(kept["t"] >= start) & (kept["t"] < stop)]))
    return samples
