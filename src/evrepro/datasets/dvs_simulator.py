"""Turn a log-intensity video into DVS/ATIS events: per-pixel contrast thresholds and a refractory period.

Each pixel keeps a reference log intensity; whenever the signal moves a threshold away from it, the
pixel emits an ON or OFF event at the (linearly interpolated) crossing time and moves its reference
by one threshold. A pixel that fired cannot fire again for ``refractory_us``.
"""

import numba
import numpy as np


@numba.njit(cache=True)
def _threshold_crossings(log_intensity, step_us, c_on, c_off, refractory_us, out_t, out_pixel, out_p):
    steps, pixels = log_intensity.shape
    n = 0
    for i in range(pixels):
        reference = log_intensity[0, i]
        last = -1e18
        for k in range(1, steps):
            a = log_intensity[k - 1, i]
            b = log_intensity[k, i]
            t0 = (k - 1) * step_us
            while True:
                d = b - reference
                if d >= c_on[i]:
                    level, polarity = reference + c_on[i], 1
                elif d <= -c_off[i]:
                    level, polarity = reference - c_off[i], 0
                else:
                    break
                fraction = (level - a) / (b - a) if b != a else 0.0
                crossing = t0 + min(max(fraction, 0.0), 1.0) * step_us
                if crossing < last + refractory_us:
                    crossing = last + refractory_us
                    if crossing > t0 + step_us:
                        break  # still refractory: the crossing waits for the next step
                if n == out_t.size:
                    return -1
                out_t[n], out_pixel[n], out_p[n] = crossing, i, polarity
                n += 1
                reference, last = level, crossing
    return n


def simulate_dvs(log_intensity: np.ndarray, step_us: float, c_on: np.ndarray, c_off: np.ndarray,
                 refractory_us: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events of a (steps, pixels) log-intensity video sampled every ``step_us``.

    Returns float crossing times (µs), flat pixel indices and polarities (1 = ON), in pixel order.
    """
    video = np.ascontiguousarray(log_intensity, dtype=np.float64)
    capacity = max(1024, video.size // 8)
    while True:
        t = np.empty(capacity, np.float64)
        pixel = np.empty(capacity, np.int64)
        p = np.empty(capacity, np.int8)
        n = _threshold_crossings(video, float(step_us), c_on.astype(np.float64), c_off.astype(np.float64),
                                 float(refractory_us), t, pixel, p)
        if n >= 0:
            return t[:n], pixel[:n], p[:n]
        capacity *= 4
