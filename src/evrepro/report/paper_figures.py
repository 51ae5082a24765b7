"""Figures that put the papers' published numbers beside this pipeline's runs."""

from matplotlib.ticker import NullFormatter

from evrepro.families import family
from evrepro.report.claims import load_paper_results, measured
from evrepro.report.style import FULL_WIDTH_IN, colour, plt, save


def plot_accuracy_vs_mflops(paper_results_path, datasets: dict[str, str], metrics_paths, model_paths, async_paths,
                            out_png) -> None:
    """AEGNN's figure: accuracy against MFLOP per event on a log axis, one panel per dataset, the published
    methods (grey, AEGNN's own in black) and each run of this pipeline that has a per-event FLOP count (its
    asynchronous cost filled, the same network run densely hollow; bars: std over seeds)."""
    published = load_paper_results(paper_results_path).published
    per_seed = measured(datasets, metrics_paths, model_paths, async_paths)
    points = published[(published["task"] == "recognition") & published["value"].notna()]
    points = points.pivot_table(index=["dataset", "method"], columns="metric", values="value").reset_index()
    points = points.dropna(subset=[c for c in ("accuracy", "mflops_per_event") if c in points]) \
        if {"accuracy", "mflops_per_event"} <= set(points.columns) else points.iloc[0:0]
    ours = per_seed.dropna(subset=["async_mflops_per_event"])
    datasets = sorted(set(points["dataset"]) | set(ours["dataset"]))
    figure, axes = plt.subplots(1, max(len(datasets), 1), figsize=(FULL_WIDTH_IN, 2.8), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        for row in points[points["dataset"] == dataset].itertuples():
            own = row.method == "AEGNN"
            ax.scatter(row.mflops_per_event, row.accuracy, s=14, color="black" if own else "0.55", zorder=2)
            ax.annotate(f"{row.method} (paper)" if own else row.method, (row.mflops_per_event, row.accuracy),
                        xytext=(3, -8) if own else (3, 2), textcoords="offset points", fontsize=5.5,
                        color="black" if own else "0.35")
        for run, seeds in ours[ours["dataset"] == dataset].groupby("run", sort=True):
            tint = colour(family(seeds["family"].iloc[0]).colour)  # published methods are grey
            accuracy, spread = seeds["accuracy"].mean(), seeds["accuracy"].std(ddof=1) if len(seeds) > 1 else 0
            sparse, dense = seeds["async_mflops_per_event"].mean(), seeds["dense_mflops_per_event"].mean()
            ax.errorbar(sparse, accuracy, yerr=spread, fmt="*", markersize=8, color=tint, zorder=3,
                        label=f"{run} ({len(seeds)} seed{'s' if len(seeds) > 1 else ''})")
            ax.plot([sparse, dense], [accuracy, accuracy], ":", color=tint, linewidth=0.8)
            ax.scatter(dense, accuracy, s=22, facecolors="none", edgecolors=tint, zorder=3)
        ax.set(xscale="log", xlabel="MFLOP per event (log)", ylabel="accuracy", title=dataset)
        ax.xaxis.set_minor_formatter(NullFormatter())  # a narrow range would label its minor ticks over each other
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best")
    for ax in axes[0][len(datasets):]:
        ax.set_axis_off()
    if not datasets:
        axes[0][0].text(0.5, 0.5, "no published point and no run with a FLOP count", ha="center", va="center")
    save(figure, out_png)
