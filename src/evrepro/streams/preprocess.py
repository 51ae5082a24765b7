"""ECN preprocessing of one sample: the LIF stream at every level and every convolution's neighbourhoods.

With tau_0 the stem's decay time and tau_i = tau_0 * 2**(i + 1) the time scale of level i:
- ``stem``: S_0 = LIF(S_in) through the 3×3/s2/p1 link with tau_0; neighbourhoods S_in -> S_0, window
  ``max_decays * tau_0``;
- for each level i: ``level{i}_cross`` (S_i -> S_i through the 9-cell cross, window max_decays * tau_i) and
  ``level{i}_point`` (same pixel, window pointwise_scale * max_decays * tau_i); below the last level,
  S_{i+1} = LIF(S_i) with tau_i and ``level{i}_down`` (S_i -> S_{i+1}, window max_decays * tau_i).
Before that, as ECN: the first ``max_events`` events are kept, coordinates are divided by
``initial_pooling`` and, with ``recenter``, shifted by (grid - largest coordinate) // 2 per axis.
Times start at 0 (the first event); pixels are ``y * width + x`` on each level's grid. Unlike ECN, pooled
coordinates are clipped to the grid (ECN's would leave it when an odd sensor size is pooled; no dataset has one).

The streams equal ECN's own (numba-stream's LIF and neighbourhoods) event for event, with pixels and kernel
cells mapped between the two flattenings (``evrepro.streams.grid``): ``tests/test_ecn_goldens.py`` checks every
level and neighbourhood against the original's outputs on real recordings under four datasets' settings.

Training samples can be stored as ``cache_repeats`` differently augmented copies (ECN's offline
augmentation, jackd/ecn ``ecn/ops/augment.py``); validation and test samples are never augmented.
"""

import numpy as np

from evrepro.storage.sample_cache import require_algorithm
from evrepro.streams.grid import cross_link, pointwise_link, strided_link
from evrepro.streams.lif import spatial_lif
from evrepro.streams.neighbors import neighbors
from evrepro.streams.params import STREAM_ALGORITHM, StreamParams, convolutions, level_shapes
from evrepro.streams.sample import Stream, StreamSample

LINKS = {"strided": strided_link, "cross": cross_link, "pointwise": pointwise_link}


def preprocess_stream(events: np.ndarray, sensor_size: tuple[int, int], params: StreamParams) -> StreamSample:
    """The input stream and every LIF level, and every convolution's neighbourhoods, of one sample."""
    require_algorithm(params, STREAM_ALGORITHM, "stream")
    if params.max_events is not None:
        events = events[: params.max_events]
    shapes = level_shapes(sensor_size, params)
    height, width = shapes[0]
    x = np.minimum(events["x"].astype(np.int64) // params.initial_pooling, width - 1)
    y = np.minimum(events["y"].astype(np.int64) // params.initial_pooling, height - 1)
    if params.recenter and events.size:  # ECN's crude centring: by the largest coordinate only
        x, y = x + (width - x.max()) // 2, y + (height - y.max()) // 2
    times = events["t"].astype(np.int64) - (int(events["t"][0]) if events.size else 0)
    streams, convs = [Stream(times, y * width + x)], {}
    for conv in convolutions(params):  # network order: every stream a convolution reads exists by then
        link = LINKS[conv.link](shapes[conv.source])  # stream k lives on grid shapes[k]
        if conv.target == len(streams):  # a strided convolution onto the next level: its LIF stream first
            streams.append(spatial_lif(*streams[conv.source], link, conv.time_scale_us, params.threshold,
                                       params.reset_potential))
        convs[conv.name] = neighbors(*streams[conv.source], *streams[conv.target], link, params.buffer_size,
                                     conv.window_us)
    return StreamSample(streams, events["p"].astype(np.int8), convs, shapes)
