"""Rule results_index: results/README.md, every file under results/ and what it is."""

from pathlib import Path

from evrepro.logs import logged
from evrepro.report.index import write_results_index

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    write_results_index(Path.cwd(), snakemake.output[0])
