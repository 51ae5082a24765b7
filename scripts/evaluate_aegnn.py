"""Rule evaluate_aegnn: test metrics of an AEGNN run × seed's best checkpoint."""

from evrepro.aegnn.family import FAMILY
from evrepro.execution import Execution
from evrepro.logs import logged
from evrepro.run_stages import evaluate_stage

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    run = snakemake.config["runs"][snakemake.wildcards.run]
    run_execution = Execution.of(run.get("execution"), FAMILY.name)
    evaluate_stage(FAMILY, snakemake.input.graphs, snakemake.input.best, snakemake.input.model,
                   snakemake.output.metrics, snakemake.output.confusion, threads=snakemake.threads,
                   device=run_execution.device)
