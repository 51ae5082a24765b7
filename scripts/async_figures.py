"""Rule async_figures: the per-layer FLOP saving and the accuracy as events arrive."""

from evrepro.logs import logged
from evrepro.report.async_figures import plot_accuracy_vs_events, plot_async_flops

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    plot_async_flops(snakemake.input.results, snakemake.output.flops, snakemake.input.paper_results)
    plot_accuracy_vs_events(snakemake.input.accuracy, snakemake.output.accuracy)
