"""Rule paper_tables: each paper's claims beside the runs, both families on every dataset, the summary."""

from evrepro.logs import logged
from evrepro.report.claims import write_paper_tables

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    outputs = {name: snakemake.output[name] for name in snakemake.output.keys() if name not in ("markdown", "latex")}
    write_paper_tables(snakemake.input.paper_results, snakemake.params.datasets, snakemake.input.metrics,
                       snakemake.input.models, snakemake.input.asyncs, outputs)
