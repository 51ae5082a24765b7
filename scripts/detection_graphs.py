"""Rule detection_graphs: the labelled windows of a recordings store as graphs with their boxes, for AEGNN's
detection model; the radius graphs searched with the job's threads."""

from evrepro.graphs.detection_params import DetectionGraphParams
from evrepro.graphs.detection_store import build_detection_graph_store
from evrepro.logs import logged
from evrepro.storage.stored_names import from_stored

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    build_detection_graph_store(snakemake.input[0], snakemake.output[0],
                                from_stored(DetectionGraphParams, snakemake.params.preprocessing),
                                threads=snakemake.threads)
