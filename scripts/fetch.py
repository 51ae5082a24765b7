"""Rule fetch: download (or generate) a dataset's archives."""

from pathlib import Path

from evrepro.datasets.stages import fetch
from evrepro.logs import logged

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    fetch(snakemake.wildcards.dataset, snakemake.params.dataset_config, Path(snakemake.output[0]).parent)
