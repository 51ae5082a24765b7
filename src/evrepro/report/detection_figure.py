"""The detection figure: a detection run's test windows, their events with the true boxes and the detections."""

from pathlib import Path

import numpy as np
from matplotlib.patches import Rectangle

from evrepro.events import make_events
from evrepro.graphs.detection_store import DetectionGraphStore
from evrepro.report.figures import event_image
from evrepro.report.style import FULL_WIDTH_IN, colour, plt, save


def window_events(sample: dict) -> np.ndarray:
    """The events a detection sample's graph holds (its subsampled events: x, y and polarity ±1)."""
    pos, polarity = sample["pos"], sample["x"][:, 0]
    return make_events(np.zeros(len(pos), np.int64), pos[:, 0].astype(np.uint16), pos[:, 1].astype(np.uint16),
                       (polarity > 0).astype(np.int8))


def draw_boxes(ax, boxes: np.ndarray, dashed: bool, class_names) -> None:
    """Boxes (``BOX_DTYPE``) in their class's colour: solid the true ones, dashed with the score the detections."""
    for box in boxes:
        ax.add_patch(Rectangle((box["x"] - 0.5, box["y"] - 0.5), box["w"], box["h"], fill=False, lw=0.9,
                               ls="--" if dashed else "-", ec=colour(int(box["class_id"]) + 1)))
        if dashed:
            ax.text(box["x"], box["y"] - 1, f"{class_names[int(box['class_id'])]} {box['confidence']:.2f}",
                    fontsize=4.5, color=colour(int(box["class_id"]) + 1), va="bottom")


def plot_detections(detections_path, cache_path, out_png: str | Path, panels: int = 8,
                    min_confidence: float = 0.3, split: str = "test") -> None:
    """``panels`` test windows spread over the split: events (ON red, OFF blue), true boxes solid, detections with a
    confidence above ``min_confidence`` dashed with their class and score."""
    saved = np.load(detections_path, allow_pickle=False)
    truth_at, found_at = saved["truth_offsets"], saved["found_offsets"]
    with DetectionGraphStore(cache_path) as store:
        count = store.num_samples(split)
        chosen = np.unique(np.linspace(0, count - 1, min(panels, count)).round().astype(int))
        columns = min(4, len(chosen))
        rows = -(-len(chosen) // columns)
        aspect = store.sensor_size[1] / store.sensor_size[0]
        figure, axes = plt.subplots(rows, columns, figsize=(FULL_WIDTH_IN, FULL_WIDTH_IN / columns * aspect * rows),
                                    squeeze=False)
        for ax in axes.flat:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.axis("off")
        for ax, k in zip(axes.flat, chosen):
            sample = store.sample(split, int(k))
            ax.axis("on")
            ax.imshow(event_image(window_events(sample), store.sensor_size), interpolation="nearest")
            draw_boxes(ax, saved["truth"][truth_at[k] : truth_at[k + 1]], False, store.class_names)
            found = saved["found"][found_at[k] : found_at[k + 1]]
            draw_boxes(ax, found[found["confidence"] > min_confidence], True, store.class_names)
            ax.set_title(f"{sample['recording']} @ {sample['label_t'] / 1e3:.0f} ms", fontsize=5.5)
    save(figure, out_png)
