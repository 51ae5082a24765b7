"""Rules evaluate_<family>: test metrics of a run × seed's best checkpoint, with its family's trainer."""

from evrepro.families import trainer
from evrepro.logs import logged
from evrepro.training.execution import Execution
from evrepro.training.stages import evaluate_stage

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    run = snakemake.config["runs"][snakemake.wildcards.run]
    evaluate_stage(trainer(run["family"]), snakemake.input.cache, snakemake.input.best, snakemake.input.model,
                   snakemake.output.metrics, snakemake.output.details, threads=snakemake.threads,
                   device=Execution.of(run.get("execution"), run["family"]).device)
