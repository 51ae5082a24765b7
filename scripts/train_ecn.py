"""Rule train_ecn: train (or resume) one ECN run × seed."""

from pathlib import Path

from evrepro.ecn.stages import train_stage
from evrepro.logs import logged

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    run_dir = Path(snakemake.output.model).parent
    train_stage(snakemake.input.streams, run_dir, snakemake.wildcards.run, snakemake.params.run,
                int(snakemake.wildcards.seed))
