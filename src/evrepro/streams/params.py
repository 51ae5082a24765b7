"""ECN's stream parameters, its per-dataset presets, and the convolutions they define.

Parameters only, without numba or scipy: the workflow imports this module to name and hash caches, so
parsing the Snakefile never loads the code that computes them (``evrepro.streams.preprocess``).
"""

import math
from dataclasses import asdict, dataclass

from evrepro.streams.augment import Augmentation

# Version of the stream computation (LIF, neighbourhoods, augmentation). It is a field of StreamParams, so it is
# part of every stream cache's id (``evrepro.caches.cache_id`` hashes ``as_dict()``) and of the params the cache
# stores: a cache computed by other arithmetic is never reused. Bump it whenever the same parameters would give
# different streams. History:
#   1  LIF potentials in float64, simultaneous LIF outputs in evrepro's y·W + x order, rotation in float64.
#      (Caches written then do not record a version; ``StreamStore`` reads them as 1.)
#   2  float32 potentials and ECN's x·H + y order of simultaneous outputs (equal to ECN's own outputs event for
#      event, tests/test_ecn_goldens.py); rotation in float32 as ECN's.
STREAM_ALGORITHM = 2


@dataclass(frozen=True)
class StreamParams:
    """Stream-cache parameters; the run config's ECN ``preprocessing`` block maps onto these (all but
    ``algorithm``, which is the code's: ``STREAM_ALGORITHM``)."""

    num_levels: int = 3
    decay_time_us: float = 2000.0
    threshold: float = 1.5
    reset_potential: float = -3.0
    buffer_size: int = 32
    max_decays: float = 4.0
    pointwise_scale: float = 4.0
    initial_pooling: int = 1
    max_events: int | None = None
    recenter: bool = True
    cache_repeats: int = 1
    flip_lr: float = 0.0
    flip_ud: float = 0.0
    flip_time: float = 0.0
    rotate_max: float = 0.0
    augment_seed: int = 0
    algorithm: int = STREAM_ALGORITHM

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def augmentation(self) -> Augmentation:
        return Augmentation(self.flip_lr, self.flip_ud, self.flip_time, self.rotate_max)

    def decay_time(self, level: int) -> float:
        """τ of a level's convolutions and of its down-sampling LIF (level -1: the stem)."""
        return self.decay_time_us * 2.0 ** (level + 1)


_ROTATE = math.pi / 8
# ECN's per-dataset values and augmentation (jackd/ecn `ecn/configs/sccd/*.gin`; the paper-era configs for
# N-CARS). ECN augmented N-MNIST online; here every dataset is augmented offline into ``cache_repeats`` copies
# (8, as ECN's offline configs). ASL-DVS: the paper era's no augmentation and no flip. N-CARS: the pre-v0.3
# config; its "flip_ud" acted on (y, x) data, so it is flip_lr in our (x, y) order. digits is recorded like
# N-MNIST; its default run in config/config.yaml is not augmented, to fit a laptop budget.
PRESETS = {
    "nmnist": StreamParams(cache_repeats=8, flip_time=0.5, rotate_max=_ROTATE),
    "digits": StreamParams(),
    "mnist-dvs": StreamParams(num_levels=5, decay_time_us=10_000, reset_potential=-2.0, cache_repeats=8,
                              flip_time=0.5, rotate_max=_ROTATE),
    "cifar10-dvs": StreamParams(num_levels=5, decay_time_us=4000, threshold=1.6, cache_repeats=8, flip_time=0.5,
                                flip_ud=0.5, rotate_max=_ROTATE),
    "ncaltech101": StreamParams(num_levels=5, decay_time_us=1000, threshold=1.25, reset_potential=-2.0,
                                initial_pooling=2, max_events=300_000, cache_repeats=8, flip_time=0.5, flip_lr=0.5,
                                rotate_max=_ROTATE),
    "asl-dvs": StreamParams(num_levels=5, decay_time_us=1000, threshold=1.0, initial_pooling=2, max_events=300_000),
    "ncars": StreamParams(num_levels=5, decay_time_us=1000, threshold=0.75, reset_potential=-1.0, max_events=16_000,
                          cache_repeats=8, flip_lr=0.5, rotate_max=_ROTATE),
}

# partitions of each link: the 3×3 stride-2 window and the 9-cell cross have 9 kernel cells, a pixel itself 1
LINK_PARTITIONS = {"strided": 9, "cross": 9, "pointwise": 1}


@dataclass(frozen=True)
class Convolution:
    """One event convolution of ECN's network, whose neighbourhoods the stream cache stores.

    Streams are numbered 0 (the input events) and k = 1.. (LIF level k - 1). Its inputs are the events
    of stream ``source``, its outputs those of stream ``target``; an output event sees the input
    events of its ``link`` cells within ``window_us`` before it, and dt = (t_out - t_in) / ``time_scale_us``.
    """

    name: str
    source: int
    target: int
    link: str  # "strided" (3×3, stride 2, padding 1), "cross" (9-cell cross), "pointwise" (the same pixel)
    time_scale_us: float
    window_us: float

    @property
    def partitions(self) -> int:
        return LINK_PARTITIONS[self.link]


def convolutions(params: StreamParams) -> list[Convolution]:
    """Every convolution of the network, in network order: the stem, then per level i its cross and pointwise
    convolutions on level i and, below the last level, the strided one down to level i + 1."""

    def conv(name, source, target, link, scale):
        return Convolution(name, source, target, link, scale, params.max_decays * scale)

    found = [conv("stem", 0, 1, "strided", params.decay_time(-1))]
    for i in range(params.num_levels):
        tau, stream = params.decay_time(i), i + 1
        found.append(conv(f"level{i}_cross", stream, stream, "cross", tau))
        found.append(conv(f"level{i}_point", stream, stream, "pointwise", params.pointwise_scale * tau))
        if i < params.num_levels - 1:
            found.append(conv(f"level{i}_down", stream, stream + 1, "strided", tau))
    return found


def strided_shape(shape: tuple[int, int], kernel: int = 3, stride: int = 2, padding: int = 1) -> tuple[int, int]:
    """The grid a strided, padded window maps ``shape`` (height, width) onto."""
    return tuple((size + 2 * padding - kernel) // stride + 1 for size in shape)


def level_shapes(sensor_size: tuple[int, int], params: StreamParams) -> list[tuple[int, int]]:
    """(height, width) of the input grid and of every level's grid."""
    width, height = sensor_size
    shapes = [(height // params.initial_pooling, width // params.initial_pooling)]
    for _ in range(params.num_levels):
        shapes.append(strided_shape(shapes[-1]))
    return shapes
