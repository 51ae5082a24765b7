"""ECN preprocessing of one sample: the LIF stream at every level and every convolution's neighbourhoods.

With tau_0 the stem's decay time and tau_i = tau_0 * 2**(i + 1) the time scale of level i:
- ``stem``: S_0 = LIF(S_in) through the 3×3/s2/p1 link with tau_0; neighbourhoods S_in -> S_0, window
  ``max_decays * tau_0``;
- for each level i: ``level{i}_cross`` (S_i -> S_i through the 9-cell cross, window max_decays * tau_i) and
  ``level{i}_point`` (same pixel, window pointwise_scale * max_decays * tau_i); below the last level,
  S_{i+1} = LIF(S_i) with tau_i and ``level{i}_down`` (S_i -> S_{i+1}, window max_decays * tau_i).
Times start at 0 (the first event); pixels are ``y * width + x`` on each level's grid.
"""

from dataclasses import asdict, dataclass

import numpy as np

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

    def as_dict(self) -> dict:
        return asdict(self)


# ECN's per-dataset values (../shared/reference/ECN.md §2.2); digits is recorded like N-MNIST.
PRESETS = {
    "nmnist": StreamParams(),
    "digits": StreamParams(),
    "mnist-dvs": StreamParams(num_levels=5, decay_time_us=10_000, reset_potential=-2.0),
    "cifar10-dvs": StreamParams(num_levels=5, decay_time_us=4000, threshold=1.6),
    "ncaltech101": StreamParams(num_levels=5, decay_time_us=1000, threshold=1.25, reset_potential=-2.0,
                                initial_pooling=2, max_events=300_000),
    "asl-dvs": StreamParams(num_levels=5, decay_time_us=1000, threshold=1.0, initial_pooling=2, max_events=300_000),
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
    names = ["stem"]
    for i in range(params.num_levels):
        names += [f"level{i}_cross", f"level{i}_point"]
        if i < params.num_levels - 1:
            names.append(f"level{i}_down")
    return names


def preprocess_stream(events: np.ndarray, sensor_size: tuple[int, int], params: StreamParams) -> dict:
    """``streams``: [(times, pixels)] for the input and each level; ``convs``: {name: (partitions, indices, splits)}."""
    if params.max_events is not None:
        events = events[: params.max_events]
    shapes = level_shapes(sensor_size, params)
    height, width = shapes[0]
    x = np.minimum(events["x"].astype(np.int64) // params.initial_pooling, width - 1)
    y = np.minimum(events["y"].astype(np.int64) // params.initial_pooling, height - 1)
    times = events["t"].astype(np.int64) - (int(events["t"][0]) if events.size else 0)
    streams, convs = [(times, y * width + x)], {}
    down = strided_link(shapes[0])
    tau = params.decay_time_us
    level = spatial_lif(*streams[0], down, tau, params.threshold, params.reset_potential)
    convs["stem"] = neighbors(*streams[0], *level, down, params.buffer_size, params.max_decays * tau)
    streams.append(level)
    for i in range(params.num_levels):
        tau *= 2
        shape = shapes[i + 1]
        current = streams[-1]
        convs[f"level{i}_cross"] = neighbors(*current, *current, cross_link(shape), params.buffer_size,
                                             params.max_decays * tau)
        convs[f"level{i}_point"] = neighbors(*current, *current, pointwise_link(shape), params.buffer_size,
                                             params.pointwise_scale * params.max_decays * tau)
        if i < params.num_levels - 1:
            down = strided_link(shape)
            following = spatial_lif(*current, down, tau, params.threshold, params.reset_potential)
            convs[f"level{i}_down"] = neighbors(*current, *following, down, params.buffer_size,
                                                params.max_decays * tau)
            streams.append(following)
    return {"streams": streams, "convs": convs, "shapes": shapes}
