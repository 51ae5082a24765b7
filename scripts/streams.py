"""Rule streams: ECN preprocessing of an events store into a stream cache."""

from evrepro.logs import logged
from evrepro.storage.stored_names import from_stored
from evrepro.streams.params import StreamParams
from evrepro.streams.store import build_stream_store

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake's script directive
    build_stream_store(snakemake.input[0], snakemake.output[0], from_stored(StreamParams, snakemake.params.preprocessing))
