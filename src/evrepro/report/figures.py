"""Figures written under ``results/figures``."""

from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from evrepro.datasets.store import EventsStore
from evrepro.report.style import FULL_WIDTH_IN, colour, plt, save

SACCADES = 3


def event_image(events: np.ndarray, sensor_size: tuple[int, int]) -> np.ndarray:
    """RGB image of events: ON counts in red, OFF counts in blue, each scaled to its maximum."""
    width, height = sensor_size
    image = np.ones((height, width, 3))
    for polarity, channels in ((1, [1, 2]), (0, [0, 1])):  # ON dims green+blue (red), OFF dims red+green
        chosen = events[events["p"] == polarity]
        counts = np.zeros((height, width))
        np.add.at(counts, (chosen["y"], chosen["x"]), 1)
        if counts.max() > 0:
            for channel in channels:
                image[..., channel] -= 0.9 * counts / counts.max()
    return np.clip(image, 0, 1)


def saccade_windows(events: np.ndarray, parts: int = SACCADES) -> list[np.ndarray]:
    """Split a sample into ``parts`` equal time windows (N-MNIST-style recordings: one per saccade)."""
    if events.size == 0:
        return [events] * parts
    edges = np.linspace(events["t"][0], events["t"][-1] + 1, parts + 1)
    index = np.searchsorted(events["t"], edges)
    return [events[index[i] : index[i + 1]] for i in range(parts)]


def plot_samples(store_path: str | Path, out_png: str | Path, samples_per_class: int = 3, max_classes: int = 10,
                 split: str = "test") -> None:
    """Grid of the first ``samples_per_class`` samples of each class, one panel per saccade."""
    with EventsStore(store_path) as store:
        if split not in store.splits:
            raise ValueError(f"{store_path}: no split {split!r}; it has {store.splits}")
        labels, names = store.labels(split), store.class_names
        classes = [c for c in range(len(names)) if np.any(labels == c)][:max_classes]
        columns = samples_per_class * SACCADES
        figure, axes = plt.subplots(len(classes), columns, figsize=(0.95 * columns, 1.05 * len(classes)),
                                    squeeze=False)
        for row, label in enumerate(classes):
            members = np.flatnonzero(labels == label)[:samples_per_class]
            for k in range(samples_per_class):
                for s in range(SACCADES):
                    ax = axes[row, k * SACCADES + s]
                    ax.set_xticks([])
                    ax.set_yticks([])
                    if k < members.size:
                        window = saccade_windows(store.sample(split, int(members[k])))[s]
                        ax.imshow(event_image(window, store.sensor_size), interpolation="nearest")
                    if row == 0:
                        ax.set_title(f"#{k + 1} saccade {s + 1}", fontsize=6)
                    if k == 0 and s == 0:
                        ax.set_ylabel(names[label], fontsize=8)
        figure.suptitle(f"{Path(store_path).stem} ({split}): ON red, OFF blue, one panel per saccade", fontsize=9)
    save(figure, out_png)


def plot_training_curves(history_paths, out_png: str | Path) -> None:
    """Loss and accuracy per epoch, train (dashed) and validation (solid), one colour per run × seed."""
    import pandas as pd

    from evrepro.layout import run_and_seed

    figure, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(FULL_WIDTH_IN, 2.8))
    runs = sorted({run_and_seed(path)[0] for path in history_paths})
    for path in history_paths:
        run, seed = run_and_seed(path)
        history = pd.read_csv(path)
        for column, ax, style in (("train_loss", loss_ax, "--"), ("val_loss", loss_ax, "-"),
                                  ("train_accuracy", acc_ax, "--"), ("val_accuracy", acc_ax, "-")):
            label = f"{run} seed {seed}" if column == "val_accuracy" else None
            ax.plot(history["epoch"], history[column], style, color=colour(runs.index(run)), label=label,
                    alpha=1.0 if seed == 0 else 0.6)
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy", title="loss (dashed: train, solid: val)")
    acc_ax.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1), title="accuracy (dashed: train, solid: val)")
    acc_ax.legend()
    for ax in (loss_ax, acc_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    save(figure, out_png)
