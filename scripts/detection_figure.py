"""Rule detection_figure: a detection run × seed's test windows, their events with the true boxes and detections."""

from evrepro.logs import logged
from evrepro.report.detection_figure import plot_detections

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    plot_detections(snakemake.input.detections, snakemake.input.cache, snakemake.output.png)
