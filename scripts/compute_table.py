"""Rule compute_table: wall time, CPU time and peak memory of every heavy job, and per run."""

from evrepro.logs import logged
from evrepro.report.compute import write_compute_table

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    write_compute_table(snakemake.params.cache_users, snakemake.input.models, snakemake.input.evaluations,
                        snakemake.input.asyncs, snakemake.output[0])
