"""Rule stream_figures: an ECN stream cache's LIF levels and neighbourhoods."""

from evrepro.logs import logged
from evrepro.report.stream_figures import plot_neighbourhood, plot_stream_levels

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    plot_stream_levels(snakemake.input[0], snakemake.output.levels, split=snakemake.params.split)
    plot_neighbourhood(snakemake.input[0], snakemake.output.neighbourhood, split=snakemake.params.split)
