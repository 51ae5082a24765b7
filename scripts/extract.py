"""Rule extract: unpack a dataset's archives (nested ones too)."""

from evrepro.datasets.stages import extract
from evrepro.logs import logged

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    extract(snakemake.input.manifest, snakemake.output[0])
