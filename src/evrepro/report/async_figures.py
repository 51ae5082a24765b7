"""Figures of AEGNN's asynchronous evaluation (async.json, score_vs_events.csv of each run × seed)."""

from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from matplotlib.ticker import NullLocator

from evrepro.report.style import FULL_WIDTH_IN, plt, save
from evrepro.layout import run_and_seed
from evrepro.training.record import AsyncResult, read_record


def plot_async_flops(async_paths, out_png, paper_results_path=None) -> None:
    """Per layer, log10(dense / asynchronous) FLOPs per event (the paper's per-layer figure), one bar per run × seed;
    with ``paper_results_path``, the paper's own ratios (``figures.aegnn_layer_ratios``) as black markers."""
    results = [(run_and_seed(path), read_record(AsyncResult, path)) for path in async_paths]
    layers = list(results[0][1].layers)
    width = 0.8 / len(results)
    figure, ax = plt.subplots(figsize=(FULL_WIDTH_IN, 3.0))
    for k, ((run, seed), result) in enumerate(results):
        ratios = [result.layers[name].log10_dense_over_async for name in layers]
        ax.bar(np.arange(len(layers)) + k * width, [np.nan if r is None else r for r in ratios], width,
               label=f"{run} seed {seed}: {result.speedup.flops:.1f}× fewer FLOPs in all")
    ax.set_xticks(np.arange(len(layers)) + 0.4 - width / 2, layers)
    if paper_results_path is not None:
        paper = yaml.safe_load(Path(paper_results_path).read_text())["figures"]["aegnn_layer_ratios"]
        ratios = paper["log10_dense_over_async"]
        shown = [k for k, name in enumerate(layers) if name in ratios]
        ax.scatter(np.array(shown) + 0.4 - width / 2, [ratios[layers[k]] for k in shown], marker="_", s=250,
                   color="black", zorder=3, label=f"AEGNN paper ({paper['dataset']}, read from its figure"
                   + (")" if paper["verified"] else "; unverified)"))
    ax.set(ylabel="log10(dense / async) FLOPs per event", title="asynchronous saving per layer")
    ax.axhline(0, color="k", linewidth=0.5)
    ax.legend(fontsize=7)
    save(figure, out_png)


METRIC_LABELS = {"accuracy": "test accuracy", "coco_ap50": "test COCO AP50"}


def plot_score_vs_events(csv_paths, out_png) -> None:
    """The test score after the first n events of each sample, one line per run × seed, one panel per metric
    (classification runs: accuracy; detection runs: COCO AP50)."""
    curves = [(*run_and_seed(path), pd.read_csv(path)) for path in csv_paths]
    metrics = sorted({table["metric"].iloc[0] for _, _, table in curves}) or ["accuracy"]
    figure, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        counts = set()
        for run, seed, table in curves:
            if table["metric"].iloc[0] == metric:
                counts |= set(table["events"].tolist())
                ax.plot(table["events"], table["score"], "o-", label=f"{run} seed {seed}")
        ax.set(xscale="log", xlabel="events seen", ylabel=METRIC_LABELS.get(metric, metric), ylim=(0, 1),
               title=f"{METRIC_LABELS.get(metric, metric)} as events arrive")
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticks(sorted(counts), [str(count) for count in sorted(counts)])
        ax.legend(fontsize=7)
    save(figure, out_png)
