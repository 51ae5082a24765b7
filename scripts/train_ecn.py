"""Rule train_ecn: train (or resume) one ECN run × seed."""

from pathlib import Path

from evrepro.ecn.stages import train_stage
from evrepro.logs import logged

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    run_dir = Path(snakemake.output.model).parent
    # the whole run block (params tracks only what decides training); the job's threads reach the framework
    run = snakemake.config["runs"][snakemake.wildcards.run]
    train_stage(snakemake.input.streams, run_dir, snakemake.wildcards.run, run,
                int(snakemake.wildcards.seed), threads=snakemake.threads)
