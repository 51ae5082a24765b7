"""ECN preprocessing of one sample: the LIF stream at every level and every convolution's neighbourhoods.

With tau_0 the stem's decay time and tau_i = tau_0 * 2**(i + 1) the time scale of level i:
- ``stem``: S_0 = LIF(S_in) through the 3×3/s2/p1 link with tau_0; neighbourhoods S_in -> S_0, window
  ``max_decays * tau_0``;
- for each level i: ``level{i}_cross`` (S_i -> S_i through the 9-cell cross, window max_decays * tau_i) and
  ``level{i}_point`` (same pixel, window pointwise_scale * max_decays * tau_i); below the last level,
  S_{i+1} = LIF(S_i) with tau_i and ``level{i}_down`` (S_i -> S_{i+1}, window max_decays * tau_i).
Before that, as ECN: the first ``max_events`` events are kept, coordinates are divided by
``initial_pooling`` and, with ``recenter``, shifted by (grid - largest coordinate) // 2 per axis.
Times start at 0 (the first event); pixels are ``y * width + x`` on each level's grid.

Training samples can be stored as ``cache_repeats`` differently augmented copies (ECN's offline
augmentation, §2.4-2.5 of ECN.md); validation and test samples are never augmented.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np

from evrepro.streams.augment import Augmentation
from evrepro.streams.grid import cross_link, pointwise_link, strided_link
from evrepro.streams.lif import spatial_lif
from evrepro.streams.neighbors import neighbors


@dataclass(frozen=True)
class StreamParams:
    """Stream-cache parameters; the run config's ECN ``preprocessing`` block maps onto these."""

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

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def augmentation(self) -> Augmentation:
        return Augmentation(self.flip_lr, self.flip_ud, self.flip_time, self.rotate_max)

    def decay_time(self, level: int) -> float:
        """τ of a level's convolutions and of its down-sampling LIF (level -1: the stem)."""
        return self.decay_time_us * 2.0 ** (level + 1)


_ROTATE = math.pi / 8
# ECN's per-dataset values and augmentation (../shared/reference/ECN.md §2.2-2.3). ECN augmented N-MNIST
# online; here every dataset is augmented offline into ``cache_repeats`` copies (8, as ECN's offline configs).
# ASL-DVS: the paper era's no augmentation and no flip. N-CARS: the pre-v0.3 config; its "flip_ud" acted
# on (y, x) data, so it is flip_lr in our (x, y) order. digits is recorded like N-MNIST; its default run
# in config/config.yaml is not augmented, to fit a laptop budget.
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


def level_shapes(sensor_size: tuple[int, int], params: StreamParams) -> list[tuple[int, int]]:
    """(height, width) of the input grid and of every level's grid."""
    width, height = sensor_size
    shape = (height // params.initial_pooling, width // params.initial_pooling)
    shapes = [shape]
    for _ in range(params.num_levels):
        shape = strided_link(shape).out_shape
        shapes.append(shape)
    return shapes


def conv_names(params: StreamParams) -> list[str]:
    """Names of the convolutions whose neighbourhoods a sample carries, in network order."""
    return list(conv_time_scales(params))


def conv_time_scales(params: StreamParams) -> dict[str, float]:
    """Each convolution's time scale in µs, the τ of its dt = (t_out - t_in) / τ, in network order."""
    scales = {"stem": params.decay_time(-1)}
    for i in range(params.num_levels):
        tau = params.decay_time(i)
        scales[f"level{i}_cross"] = tau
        scales[f"level{i}_point"] = params.pointwise_scale * tau
        if i < params.num_levels - 1:
            scales[f"level{i}_down"] = tau
    return scales


def conv_streams(name: str) -> tuple[int, int]:
    """(input stream, output stream) of a convolution; stream 0 is the input, stream k the LIF level k - 1."""
    if name == "stem":
        return 0, 1
    level, kind = name.removeprefix("level").split("_")
    return int(level) + 1, int(level) + (2 if kind == "down" else 1)


def preprocess_stream(events: np.ndarray, sensor_size: tuple[int, int], params: StreamParams) -> dict:
    """``streams``: [(times, pixels)] for the input and each level; ``polarity`` of the input events (0/1);
    ``convs``: {name: (partitions, indices, splits)}; ``shapes``: (height, width) of every grid."""
    if params.max_events is not None:
        events = events[: params.max_events]
    shapes = level_shapes(sensor_size, params)
    height, width = shapes[0]
    x = np.minimum(events["x"].astype(np.int64) // params.initial_pooling, width - 1)
    y = np.minimum(events["y"].astype(np.int64) // params.initial_pooling, height - 1)
    if params.recenter and events.size:  # ECN's crude centring: by the largest coordinate only
        x, y = x + (width - x.max()) // 2, y + (height - y.max()) // 2
    times = events["t"].astype(np.int64) - (int(events["t"][0]) if events.size else 0)
    streams, convs = [(times, y * width + x)], {}
    windows = {name: params.max_decays * scale for name, scale in conv_time_scales(params).items()}
    down = strided_link(shapes[0])
    tau = params.decay_time(-1)
    level = spatial_lif(*streams[0], down, tau, params.threshold, params.reset_potential)
    convs["stem"] = neighbors(*streams[0], *level, down, params.buffer_size, windows["stem"])
    streams.append(level)
    for i in range(params.num_levels):
        shape, current = shapes[i + 1], streams[-1]
        convs[f"level{i}_cross"] = neighbors(*current, *current, cross_link(shape), params.buffer_size,
                                             windows[f"level{i}_cross"])
        convs[f"level{i}_point"] = neighbors(*current, *current, pointwise_link(shape), params.buffer_size,
                                             windows[f"level{i}_point"])
        if i < params.num_levels - 1:
            down = strided_link(shape)
            following = spatial_lif(*current, down, params.decay_time(i), params.threshold, params.reset_potential)
            convs[f"level{i}_down"] = neighbors(*current, *following, down, params.buffer_size,
                                                windows[f"level{i}_down"])
            streams.append(following)
    return {"streams": streams, "polarity": events["p"].astype(np.int8), "convs": convs, "shapes": shapes}
