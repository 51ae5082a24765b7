"""Figures of ECN's stream cache: the LIF stream at every level, and the neighbourhoods of an event.

They show what the original ``vis/streams2d`` (streams per level) and ``vis/adj`` (neighbourhood
adjacency) showed, from the cache itself.
"""

from pathlib import Path

import numpy as np

from evrepro.report.style import FULL_WIDTH_IN, plt, save
from evrepro.streams.params import convolutions
from evrepro.streams.store import StreamStore


def _first_of_each_class(labels: np.ndarray, count: int) -> list[int]:
    """The first sample of each of the first ``count`` classes present."""
    return [int(np.flatnonzero(labels == label)[0]) for label in np.unique(labels)[:count]]


def plot_stream_levels(cache_path, out_png, split: str = "test", samples: int = 3) -> None:
    """One row per sample, one panel per stream (input, then each LIF level): events coloured by time."""
    with StreamStore(cache_path) as store:
        chosen = _first_of_each_class(store.labels(split), samples)
        levels = store.params.num_levels + 1
        figure, axes = plt.subplots(len(chosen), levels, figsize=(2.3 * levels, 2.4 * len(chosen)), squeeze=False)
        for row, index in enumerate(chosen):
            sample = store.sample(split, index)
            duration = max(sample.end_time - 1, 1)
            for k, (times, pixels) in enumerate(sample.streams):
                height, width = sample.shapes[k]
                ax = axes[row, k]
                y, x = np.divmod(pixels, width)
                ax.scatter(x, y, c=times / duration, cmap="viridis", vmin=0, vmax=1, s=max(2, 120 / width),
                           marker="s", linewidths=0)
                ax.set(xlim=(-0.5, width - 0.5), ylim=(height - 0.5, -0.5), xticks=[], yticks=[], aspect="equal")
                name = "input" if k == 0 else f"level {k - 1}"
                ax.set_title(f"{name}: {times.size} ev", fontsize=8)
                if k == 0:
                    ax.set_ylabel(f"{store.class_names[sample.label]} (#{index})", fontsize=8)
        figure.suptitle(f"{Path(cache_path).parent.name} stream cache ({split}): LIF streams per level, "
                        f"colour = time (τ0 = {store.params.decay_time_us:g} µs, doubling per level)", fontsize=9)
    figure.tight_layout()
    save(figure, out_png)


def _busy_row(indptr: np.ndarray) -> int:
    """An output event with a large neighbourhood: the upper quartile of the non-empty ones."""
    lengths = np.diff(indptr)
    candidates = np.flatnonzero(lengths > 0)
    order = candidates[np.argsort(lengths[candidates], kind="stable")]
    return int(order[3 * order.size // 4])


def plot_neighbourhood(cache_path, out_png, split: str = "test", index: int = 0) -> None:
    """The stem's neighbourhoods of one sample as an adjacency pattern, then one event's neighbours in space
    for the stem (3×3 link, input grid) and for level 0's in-place cross, coloured by kernel partition."""
    with StreamStore(cache_path) as store:
        sample = store.sample(split, index)
        convs = {conv.name: conv for conv in convolutions(store.params)}
    figure, axes = plt.subplots(1, 3, figsize=(FULL_WIDTH_IN, 2.6))
    partitions, indices, indptr = sample.convs["stem"]
    rows = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    axes[0].scatter(indices, rows, c=partitions, cmap="tab10", vmin=0, vmax=9, s=1, linewidths=0)
    axes[0].set(xlabel="input event", ylabel="level-0 event", title="stem neighbourhoods (colour: partition)")
    axes[0].invert_yaxis()
    for ax, name in ((axes[1], "stem"), (axes[2], "level0_cross")):
        source, target = convs[name].source, convs[name].target
        partitions, indices, indptr = sample.convs[name]
        row = _busy_row(indptr)
        in_times, in_pixels = sample.streams[source]
        out_time, out_pixel = sample.streams[target].times[row], sample.streams[target].pixels[row]
        height, width = sample.shapes[source]
        window = convs[name].window_us
        recent = (in_times <= out_time) & (in_times >= out_time - window)
        y, x = np.divmod(in_pixels[recent], width)
        ax.scatter(x, y, c="0.85", s=18, marker="s", linewidths=0, label=f"inputs in the {window / 1000:g} ms window")
        a, b = indptr[row], indptr[row + 1]
        y, x = np.divmod(in_pixels[indices[a:b]], width)
        jitter = np.random.default_rng(0).uniform(-0.25, 0.25, (2, b - a))
        ax.scatter(x + jitter[0], y + jitter[1], c=partitions[a:b], cmap="tab10", vmin=0, vmax=9, s=14,
                   edgecolors="k", linewidths=0.3, label=f"{b - a} neighbours")
        out_height, out_width = sample.shapes[target]
        oy, ox = divmod(int(out_pixel), out_width)
        centre = (2 * ox, 2 * oy) if name == "stem" else (ox, oy)  # the stem's window is centred on 2·o
        ax.scatter(*centre, marker="x", c="red", s=60, label=f"output event (t = {out_time / 1000:.1f} ms)")
        ax.set(xlim=(-0.5, width - 0.5), ylim=(height - 0.5, -0.5), aspect="equal",
               title=f"{name}: τ = {convs[name].time_scale_us / 1000:g} ms")
        ax.legend(fontsize=7, loc="lower left")
    figure.suptitle(f"{Path(cache_path).parent.name} ({split} #{index}, {store.class_names[sample.label]}): "
                    "causal neighbourhoods", fontsize=9)
    figure.tight_layout()
    save(figure, out_png)
