"""Rule samples_figure: a few samples per class, events drawn per saccade."""

from evrepro.logs import logged
from evrepro.report.figures import plot_samples

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    plot_samples(snakemake.input[0], snakemake.output[0], **snakemake.params.options)
