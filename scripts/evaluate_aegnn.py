"""Rule evaluate_aegnn: test metrics of an AEGNN run × seed's best checkpoint."""

from pathlib import Path

from evrepro.aegnn.stages import evaluate_stage
from evrepro.logs import logged

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    evaluate_stage(snakemake.input.graphs, Path(snakemake.output.metrics).parent, threads=snakemake.threads)
