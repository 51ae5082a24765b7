"""One ECN sample as the preprocessing makes it and the stream cache stores it: typed records, not nested tuples."""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


class Stream(NamedTuple):
    """Events of one stream, time-sorted: times in µs from the sample's first input event, flat pixels."""

    times: np.ndarray  # int64
    pixels: np.ndarray  # y * width + x on the stream's grid


class Neighbourhoods(NamedTuple):
    """One convolution's neighbourhoods as CSR over its output events: output o sees the input events
    ``indices[indptr[o]:indptr[o + 1]]``, each in kernel cell ``partitions[...]``."""

    partitions: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray


@dataclass
class StreamSample:
    """Every stream of a sample (0: the input events, k: LIF level k - 1) and every convolution's neighbourhoods."""

    streams: list[Stream]
    polarity: np.ndarray  # of the input events, 0/1
    convs: dict[str, Neighbourhoods]  # by convolution name, in network order (evrepro.streams.params.convolutions)
    shapes: list[tuple[int, int]]  # (height, width) of each stream's grid
    label: int = -1  # the class, once read from a cache

    @property
    def end_time(self) -> int:
        """One past the last input time (1 for a sample without events): the span the voxel frames divide."""
        times = self.streams[0].times
        return int(times[-1]) + 1 if times.size else 1
