"""Rule async_eval: event-by-event asynchronous inference of an AEGNN run × seed, against the dense model."""

from evrepro.aegnn.async_eval import evaluate_async
from evrepro.logs import logged

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    evaluate_async(snakemake.input.cache, snakemake.input.best, snakemake.input.model, snakemake.output.result,
                   snakemake.output.accuracy, **snakemake.params.options, threads=snakemake.threads)
