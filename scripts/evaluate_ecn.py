"""Rule evaluate_ecn: test metrics of an ECN run × seed's best checkpoint."""

from pathlib import Path

from evrepro.ecn.stages import evaluate_stage
from evrepro.logs import logged

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    evaluate_stage(snakemake.input.streams, Path(snakemake.output.metrics).parent, threads=snakemake.threads)
