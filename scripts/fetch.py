"""Rule fetch: download (or generate) a dataset's archives."""

from evrepro.datasets.stages import fetch
from evrepro.logs import logged

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    # the whole dataset block: mirror URLs too, which the rule does not track (checksums pin the download)
    dataset = snakemake.wildcards.dataset
    fetch(dataset, snakemake.config["datasets"][dataset], snakemake.output.manifest)
