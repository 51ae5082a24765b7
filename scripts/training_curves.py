"""Rule training_curves: loss and accuracy per epoch of every run × seed."""

from evrepro.logs import logged
from evrepro.report.figures import plot_training_curves

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    plot_training_curves(snakemake.input, snakemake.output[0])
