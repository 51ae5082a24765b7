"""Which boxes count, in training and in scoring: Prophesee's filter, applied to labels and detections alike.

A box is kept when its time is after ``skip_us`` (the first moments of a recording have too little history), its
diagonal is at least ``min_diagonal`` pixels and both its sides at least ``min_side`` pixels (the comparisons of
Prophesee's ``box_filtering.py``: ``t > skip``, ``w² + h² ≥ diagonal²``, ``w ≥ side``, ``h ≥ side``).
"""

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class BoxFilter:
    """Prophesee's box filter: time after ``skip_us`` µs, diagonal and both sides at least so many pixels."""

    skip_us: int
    min_diagonal: float
    min_side: float

    def keep(self, boxes: np.ndarray) -> np.ndarray:
        """A mask of the boxes (``evrepro.events.boxes.BOX_DTYPE``) that pass."""
        w, h = boxes["w"].astype(np.float64), boxes["h"].astype(np.float64)
        return ((boxes["t"] > self.skip_us) & (w**2 + h**2 >= self.min_diagonal**2)
                & (w >= self.min_side) & (h >= self.min_side))

    def apply(self, boxes: np.ndarray) -> np.ndarray:
        """The boxes that pass, in their order."""
        return boxes[self.keep(boxes)]

    def as_dict(self) -> dict:
        return asdict(self)


# "gen1": the standard Gen1 protocol (Prophesee's toolbox README for QVGA, RVT, DAGr): 0.5 s, diagonal 30, side 10.
# "original": what AEGNN's gen1.py applies to Gen1, the 1-megapixel camera's thresholds: 0.5 s, 60, 20.
# "none": every box (N-Caltech101's one box per sample, the embedded set when it asks for no filter).
BOX_FILTERS = {
    "gen1": BoxFilter(skip_us=500_000, min_diagonal=30, min_side=10),
    "original": BoxFilter(skip_us=500_000, min_diagonal=60, min_side=20),
    "none": BoxFilter(skip_us=-1, min_diagonal=0, min_side=0),
}
