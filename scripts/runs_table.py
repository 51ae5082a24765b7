"""Rule runs_table: one row per run × seed and a mean row per run."""

from evrepro.logs import logged
from evrepro.report.tables import write_runs_table

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    write_runs_table(snakemake.input.metrics, snakemake.input.models, snakemake.params.datasets,
                     snakemake.output[0])
