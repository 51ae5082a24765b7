"""Rule datasets_table: samples, events per sample and duration, per dataset and split."""

from evrepro.logs import logged
from evrepro.report.tables import write_datasets_table

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    write_datasets_table(dict(zip(snakemake.params.datasets, snakemake.input)), snakemake.output[0])
