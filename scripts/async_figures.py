"""Rule async_figures: the per-layer FLOP saving and the test score as events arrive."""

from evrepro.logs import logged
from evrepro.report.async_figures import plot_async_flops, plot_score_vs_events

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    plot_async_flops(snakemake.input.results, snakemake.output.flops, snakemake.input.paper_results)
    plot_score_vs_events(snakemake.input.scores, snakemake.output.scores)
