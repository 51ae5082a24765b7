"""Rule paper_figure: accuracy against MFLOP per event, the published methods beside this pipeline's runs."""

from evrepro.logs import logged
from evrepro.report.paper_figures import plot_accuracy_vs_mflops

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    plot_accuracy_vs_mflops(snakemake.input.paper_results, snakemake.params.datasets, snakemake.input.metrics,
                            snakemake.input.models, snakemake.input.asyncs, snakemake.output.png)
