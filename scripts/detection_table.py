"""Rule detection_table: every detection run × seed under each metric definition, beside the trivial baseline."""

from evrepro.logs import logged
from evrepro.report.detection import write_detection_table

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    write_detection_table(snakemake.input.metrics, snakemake.params.datasets, snakemake.output[0])
