"""The stream store ``results/streams/{dataset}/{prep}.h5`` and its builder.

Per split: ``stream{k}/times|pixels`` (k = 0 is the input, k = 1.. the LIF levels) with ``offsets``;
per convolution ``conv/{name}/partitions|indices`` (sample-local input indices) with ``offsets``, and
``conv/{name}/row_lengths`` (one per output event, so a row's entries follow from their running sum);
``label``. ``{prep}`` is the hash of the preprocessing parameters.
"""

import json

import numpy as np

from evrepro.ragged import RaggedWriter
from evrepro.sample_cache import SampleCacheReader, build_sample_cache
from evrepro.streams.preprocess import StreamParams, conv_names, level_shapes, preprocess_stream

FORMAT = "evrepro.streams/1"


class _StreamSplitWriter:
    def __init__(self, group, params: StreamParams, sensor_size):
        self.params, self.sensor_size = params, sensor_size
        self.streams = [RaggedWriter(group.create_group(f"stream{k}"),
                                     {"times": (np.int64, (0,), 0), "pixels": (np.int32, (0,), 0)}, "offsets")
                        for k in range(params.num_levels + 1)]
        self.convs = {}
        for name in conv_names(params):
            conv = group.create_group(f"conv/{name}")
            self.convs[name] = (
                RaggedWriter(conv, {"partitions": (np.int8, (0,), 0), "indices": (np.int32, (0,), 0)}, "offsets"),
                RaggedWriter(conv, {"row_lengths": (np.int32, (0,), 0)}, "row_offsets"))

    def add(self, events, split: str, index: int) -> None:
        sample = preprocess_stream(events, self.sensor_size, self.params)
        for writer, (times, pixels) in zip(self.streams, sample["streams"]):
            writer.add(times=times, pixels=pixels)
        for name, (partitions, indices, splits) in sample["convs"].items():
            entries, rows = self.convs[name]
            entries.add(partitions=partitions, indices=indices)
            rows.add(row_lengths=np.diff(splits))

    def close(self) -> None:
        for writer in self.streams:
            writer.close()
        for entries, rows in self.convs.values():
            entries.close()
            rows.close()


def build_stream_store(events_path, out_path, params: StreamParams, progress: bool = True) -> dict[str, int]:
    """Preprocess every sample of an events store into a stream store, atomically."""
    return build_sample_cache(
        events_path, out_path, FORMAT, params.as_dict(),
        lambda group, events: _StreamSplitWriter(group, params, events.sensor_size), desc="streams",
        extra_attributes=lambda events: {"level_shapes": json.dumps(level_shapes(events.sensor_size, params))},
        progress=progress)


class StreamStore(SampleCacheReader):
    """Read access to a stream store, one sample at a time."""

    FORMAT = FORMAT
    PARAMS = StreamParams

    def __init__(self, path):
        super().__init__(path)
        self.shapes = [tuple(shape) for shape in json.loads(self.handle.attrs["level_shapes"])]

    def sample(self, split: str, index: int) -> dict:
        """The same structure as ``preprocess_stream`` returns, plus ``label``."""
        group = self.handle[split]
        streams = []
        for k in range(self.params.num_levels + 1):
            stream = group[f"stream{k}"]
            a, b = stream["offsets"][index : index + 2]
            streams.append((stream["times"][a:b], stream["pixels"][a:b].astype(np.int64)))
        convs = {}
        for name in conv_names(self.params):
            conv = group[f"conv/{name}"]
            a, b = conv["offsets"][index : index + 2]
            c, d = conv["row_offsets"][index : index + 2]
            splits = np.concatenate([[0], np.cumsum(conv["row_lengths"][c:d], dtype=np.int64)])
            convs[name] = (conv["partitions"][a:b].astype(np.int64), conv["indices"][a:b].astype(np.int64), splits)
        return {"streams": streams, "convs": convs, "shapes": self.shapes, "label": int(group["label"][index])}
