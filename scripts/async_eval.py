"""Rule async_eval: event-by-event asynchronous inference of an AEGNN run × seed, against the dense model."""

from pathlib import Path

from evrepro.aegnn.async_eval import evaluate_async
from evrepro.logs import logged

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    evaluate_async(snakemake.input.graphs, Path(snakemake.output.result).parent, **snakemake.params.options,
                   threads=snakemake.threads)
