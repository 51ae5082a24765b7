"""Rules train_<family>: train (or resume) one run × seed with its family's trainer (evrepro.families)."""

from evrepro.families import trainer
from evrepro.logs import logged
from evrepro.training.stages import TrainOutputs, train_stage

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    # the whole run block (params tracks only what decides training); the job's threads reach the framework
    run = snakemake.config["runs"][snakemake.wildcards.run]
    outputs = TrainOutputs.of(snakemake.output.best, snakemake.output.history, snakemake.output.model,
                              snakemake.output.config)
    train_stage(trainer(run["family"]), snakemake.input.cache, outputs, snakemake.wildcards.run, run,
                int(snakemake.wildcards.seed), threads=snakemake.threads)
