"""Rule events: read every sample into the canonical events store."""

from evrepro.datasets.stages import build_events
from evrepro.logs import logged

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    build_events(snakemake.wildcards.dataset, snakemake.params.dataset_config, snakemake.input.manifest,
                 snakemake.input.raw, snakemake.output.events, snakemake.output.splits, workers=snakemake.threads)
