"""Rule graphs: AEGNN preprocessing of an events store into a graph cache, its radius graphs searched with the
job's threads."""

from evrepro.graphs.params import GraphParams
from evrepro.graphs.store import build_graph_store
from evrepro.logs import logged
from evrepro.storage.stored_names import from_stored

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    build_graph_store(snakemake.input[0], snakemake.output[0], from_stored(GraphParams, snakemake.params.preprocessing),
                      threads=snakemake.threads)
