"""Rule detection_tables: every detection run × seed under each metric definition beside the trivial baseline, and
AEGNN's published detection numbers beside them."""

from evrepro.logs import logged
from evrepro.report.detection import write_detection_tables

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    write_detection_tables(snakemake.input.paper_results, snakemake.input.metrics, snakemake.input.asyncs,
                           snakemake.params.datasets,
                           {"detection": snakemake.output.detection, "detection_claims": snakemake.output.claims})
