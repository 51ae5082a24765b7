"""Rule graph_figure: an AEGNN graph cache's radius graph drawn over its events."""

from evrepro.logs import logged
from evrepro.report.graph_figures import plot_graph

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    plot_graph(snakemake.input[0], snakemake.output.png, split=snakemake.params.split)
