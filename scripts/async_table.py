"""Rule async_table: FLOPs and latency per event, dense vs asynchronous, per AEGNN run × seed."""

from evrepro.logs import logged
from evrepro.report.tables import write_async_table

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    write_async_table(snakemake.input, snakemake.output[0])
