"""The embedded ``digits`` dataset: scikit-learn's handwritten digits recorded like N-MNIST.

Orchard et al. recorded N-MNIST by showing each MNIST digit to an ATIS sensor that moved along three
saccades of about 100 ms (down-right, left, up-right back to the start). Here each 8×8 digit from
``sklearn.datasets.load_digits`` (1,797 images, bundled, no download) is rendered as a smooth
28-pixel digit on a 34×34 sensor that follows the same triangle, and the DVS simulator turns the log
intensity into events: per-pixel threshold mismatch, a refractory period and background activity.
Every recording is randomised (sub-pixel offset, scale, saccade amplitude and timing) and fully
determined by (seed, image, recording). Train and test hold disjoint images.

The result is written with the real N-MNIST archive layout and bytes: a zip of
``Train/<digit>/<image>-<recording>.bin`` and ``Test/...`` in the ATIS 40-bit format.
"""

import zipfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from evrepro.datasets.digits_params import DigitsParams
from evrepro.datasets.dvs_simulator import simulate_dvs
from evrepro.events import make_events
from evrepro.events.atis import encode_atis

SENSOR_SIZE = (34, 34)  # (width, height), as N-MNIST
SOURCE_PIXELS = 8  # load_digits images are 8×8 with values 0-16
DIGIT_PIXELS = 28  # rendered size at scale 1, as MNIST
STEP_US = 1000.0  # rendering step; crossing times are interpolated within it


def load_images() -> tuple[np.ndarray, np.ndarray]:
    """The bundled 8×8 digit images scaled to [0, 1], and their labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images / 16.0, bunch.target.astype(np.int32)


def image_count(params: DigitsParams) -> int:
    """How many source images ``params`` records."""
    total = load_images()[1].size
    return total if params.max_images is None else min(params.max_images, total)


def test_image_mask(labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """Choose test images per class (seeded), so train and test never share an image."""
    rng = np.random.default_rng([seed, 1])
    is_test = np.zeros(labels.size, dtype=bool)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        is_test[members[: int(round(test_fraction * members.size))]] = True
    return is_test


def saccade_path(times_us: np.ndarray, durations_us: np.ndarray, amplitude: float) -> np.ndarray:
    """Apparent (dx, dy) displacement of the digit along the three-saccade triangle, shape (T, 2)."""
    half = amplitude / 2
    vertices = np.array([[0.0, -half], [half, half], [-half, half], [0.0, -half]])
    ends = np.cumsum(durations_us)
    starts = ends - durations_us
    leg = np.clip(np.searchsorted(ends, times_us, side="right"), 0, 2)
    progress = np.clip((times_us - starts[leg]) / durations_us[leg], 0.0, 1.0)
    eased = (1 - np.cos(np.pi * progress)) / 2  # the sensor accelerates and brakes on each saccade
    return vertices[leg] + eased[:, None] * (vertices[leg + 1] - vertices[leg])


def interpolation_weights(offsets: np.ndarray, pitch: float) -> np.ndarray:
    """Cubic-convolution weights (Keys, a = -0.5) that sample the 8-pixel source axis.

    ``offsets`` holds sensor coordinates relative to the digit centre, shape (T, n); the result has
    shape (T, n, 8), so that a translated, scaled digit is ``rows @ image @ cols.T``.
    """
    source = offsets / pitch + (SOURCE_PIXELS - 1) / 2
    distance = np.abs(source[..., None] - np.arange(SOURCE_PIXELS))
    near = (1.5 * distance - 2.5) * distance**2 + 1
    far = ((-0.5 * distance + 2.5) * distance - 4) * distance + 2
    return np.where(distance < 1, near, np.where(distance < 2, far, 0.0))


def sensor_thresholds(params: DigitsParams) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel ON and OFF contrast thresholds: the mismatch of one simulated sensor."""
    rng = np.random.default_rng([params.seed, 2])
    n = SENSOR_SIZE[0] * SENSOR_SIZE[1]
    draw = rng.normal(params.contrast_threshold, params.threshold_mismatch, size=(2, n))
    return np.maximum(draw, 0.05)


def record(image: np.ndarray, params: DigitsParams, rng: np.random.Generator,
           thresholds: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Simulate one randomised N-MNIST-style recording of an 8×8 image in [0, 1]."""
    width, height = SENSOR_SIZE
    durations = params.saccade_ms * 1000 * rng.uniform(0.97, 1.03, size=3)
    times = np.arange(0.0, durations.sum() + STEP_US, STEP_US)
    pitch = DIGIT_PIXELS / SOURCE_PIXELS * rng.uniform(*params.scale_range)
    centre = np.array([width, height]) / 2 - 0.5 + rng.uniform(-1, 1, size=2)
    amplitude = params.amplitude_px * rng.uniform(0.9, 1.1)
    shift = centre + saccade_path(times, durations, amplitude)  # (T, 2)

    image_rows = interpolation_weights(np.arange(height)[None] - shift[:, 1, None], pitch)  # (T, H, 8)
    image_cols = interpolation_weights(np.arange(width)[None] - shift[:, 0, None], pitch)  # (T, W, 8)
    intensity = image_rows @ image @ image_cols.transpose(0, 2, 1)  # the shifted digit, (T, H, W)
    intensity = np.clip(intensity, 0.0, 1.0).reshape(times.size, -1)
    log_intensity = np.log(params.black_level + (1 - params.black_level) * intensity)

    t, pixel, p = simulate_dvs(log_intensity, STEP_US, *thresholds, params.refractory_us)
    n_noise = rng.poisson(params.noise_hz_per_pixel * width * height * times[-1] * 1e-6)
    t = np.concatenate([t, rng.uniform(0, times[-1], n_noise)])
    pixel = np.concatenate([pixel, rng.integers(0, width * height, n_noise)])
    p = np.concatenate([p, rng.integers(0, 2, n_noise).astype(np.int8)])
    order = np.argsort(t, kind="stable")
    t_us = np.floor(t[order]).astype(np.int64)
    return make_events(t_us, pixel[order] % width, pixel[order] // width, p[order])


def recordings(params: DigitsParams):
    """Yield (split, label, sample_id, events) for every recording, deterministically."""
    images, labels = load_images()
    # on all images: a subset keeps its split
    is_test = test_image_mask(labels, params.test_image_fraction, params.seed)
    thresholds = sensor_thresholds(params)
    for index in range(image_count(params)):
        split = "Test" if is_test[index] else "Train"
        for repeat in range(params.recordings_per_image):
            rng = np.random.default_rng([params.seed, 3, index, repeat])
            yield split, int(labels[index]), f"{index:04d}-{repeat}", record(images[index], params, rng, thresholds)


def write_archive(path: str | Path, params: DigitsParams, progress: bool = True) -> int:
    """Write every recording into an N-MNIST-layout zip at ``path``; returns the sample count."""
    n_images = image_count(params)
    count = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        stream = recordings(params)
        for split, label, sample_id, events in tqdm(stream, total=n_images * params.recordings_per_image,
                                                    desc="digits: recording", disable=not progress, mininterval=2):
            archive.writestr(f"{split}/{label}/{sample_id}.bin", encode_atis(events, where=sample_id))
            count += 1
    return count
