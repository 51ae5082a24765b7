"""The stream store ``results/streams/{dataset}/{prep}.h5`` and its builder.

Per split: ``stream{k}/times|pixels`` (k = 0 is the input, k = 1.. the LIF levels) with ``offsets``,
and ``stream0/polarity``; per convolution ``conv/{name}/partitions|indices`` (sample-local input
indices) with ``offsets``, and ``conv/{name}/row_lengths`` (one per output event, so a row's entries
follow from their running sum); ``label``. ``{prep}`` is the hash of the preprocessing parameters, the
stream algorithm's version (``StreamParams.algorithm``) included.
The train split holds ``cache_repeats`` augmented copies of its n samples (copy r of sample i at
``r * n + i``), each drawn from its own seeded generator.
"""

import json

import numpy as np

from evrepro.datasets.store import EventsStore
from evrepro.storage.ragged import RaggedWriter
from evrepro.storage.sample_cache import SampleCacheReader, build_sample_cache, require_algorithm, versioned_params
from evrepro.storage.stored_names import stored
from evrepro.streams.augment import augment
from evrepro.streams.params import STREAM_ALGORITHM, StreamParams, convolutions, level_shapes
from evrepro.streams.preprocess import preprocess_stream
from evrepro.streams.sample import Neighbourhoods, Stream, StreamSample

FORMAT = "evrepro.streams/1"


class _StreamSplitWriter:
    def __init__(self, group, params: StreamParams, sensor_size):
        self.params, self.sensor_size = params, sensor_size
        self.streams = []
        for k in range(params.num_levels + 1):
            columns = {"times": (np.int64, (0,), 0), "pixels": (np.int32, (0,), 0)}
            if k == 0:
                columns["polarity"] = (np.int8, (0,), 0)
            self.streams.append(RaggedWriter(group.create_group(f"stream{k}"), columns, "offsets"))
        self.convs = {}
        for name in (conv.name for conv in convolutions(params)):
            conv = group.create_group(f"conv/{name}")
            self.convs[name] = (
                RaggedWriter(conv, {"partitions": (np.int8, (0,), 0), "indices": (np.int32, (0,), 0)}, "offsets"),
                RaggedWriter(conv, {"row_lengths": (np.int32, (0,), 0)}, "row_offsets"))

    def add(self, events, split: str, index: int) -> None:
        sample = preprocess_stream(events, self.sensor_size, self.params)
        for k, (writer, (times, pixels)) in enumerate(zip(self.streams, sample.streams)):
            writer.add(times=times, pixels=pixels, **({"polarity": sample.polarity} if k == 0 else {}))
        for name, (partitions, indices, indptr) in sample.convs.items():
            entries, rows = self.convs[name]
            entries.add(partitions=partitions, indices=indices)
            rows.add(row_lengths=np.diff(indptr))

    def close(self) -> None:
        for writer in self.streams:
            writer.close()
        for entries, rows in self.convs.values():
            entries.close()
            rows.close()


def augmented_copies(params: StreamParams, split: str) -> int:
    """How many copies of each sample of ``split`` the store holds (only train is augmented)."""
    return params.cache_repeats if split == "train" else 1


def build_stream_store(events_path, out_path, params: StreamParams, progress: bool = True) -> dict[str, int]:
    """Preprocess every sample of an events store (and its augmented training copies) into a stream store."""
    require_algorithm(params, STREAM_ALGORITHM, "stream")
    with EventsStore(events_path) as events:
        sensor_size = events.sensor_size

    def transform(events, split, index, copy):
        if split != "train" or not params.augmentation.active:
            return events
        rng = np.random.default_rng([params.augment_seed, index, copy])
        return augment(events, sensor_size, params.augmentation, rng)

    return build_sample_cache(
        events_path, out_path, FORMAT, stored(params),
        lambda group, events: _StreamSplitWriter(group, params, events.sensor_size), desc="streams",
        extra_attributes=lambda events: {"level_shapes": json.dumps(level_shapes(events.sensor_size, params))},
        copies=lambda split: augmented_copies(params, split), transform=transform, progress=progress)


stored_params = versioned_params(StreamParams)


class StreamStore(SampleCacheReader):
    """Read access to a stream store, one sample at a time."""

    FORMAT = FORMAT
    PARAMS = staticmethod(stored_params)

    def __init__(self, path):
        super().__init__(path)
        self.shapes = [tuple(shape) for shape in json.loads(self.handle.attrs["level_shapes"])]

    def sample(self, split: str, index: int) -> StreamSample:
        """What ``preprocess_stream`` returned for the sample, with its ``label``."""
        return self.block(split, index, index + 1)[0]

    def block(self, split: str, start: int, stop: int) -> list[StreamSample]:
        """Samples ``start`` to ``stop - 1`` of a split, read with one slice per column."""
        group = self.handle[split]
        count = stop - start
        samples = [StreamSample([], np.zeros(0, np.int8), {}, self.shapes, int(label))
                   for label in group["label"][start:stop]]
        for k in range(self.params.num_levels + 1):
            stream = group[f"stream{k}"]
            offsets = stream["offsets"][start : stop + 1]
            times, pixels = (stream[name][offsets[0] : offsets[-1]] for name in ("times", "pixels"))
            polarity = stream["polarity"][offsets[0] : offsets[-1]] if k == 0 else None
            for n, (a, b) in enumerate(zip(offsets[:-1] - offsets[0], offsets[1:] - offsets[0])):
                samples[n].streams.append(Stream(times[a:b], pixels[a:b].astype(np.int64)))
                if k == 0:
                    samples[n].polarity = polarity[a:b]
        for name in (conv.name for conv in convolutions(self.params)):
            conv = group[f"conv/{name}"]
            offsets, row_offsets = conv["offsets"][start : stop + 1], conv["row_offsets"][start : stop + 1]
            partitions, indices = (conv[column][offsets[0] : offsets[-1]] for column in ("partitions", "indices"))
            lengths = conv["row_lengths"][row_offsets[0] : row_offsets[-1]]
            for n in range(count):
                a, b = offsets[n : n + 2] - offsets[0]
                c, d = row_offsets[n : n + 2] - row_offsets[0]
                indptr = np.concatenate([[0], np.cumsum(lengths[c:d], dtype=np.int64)])
                samples[n].convs[name] = Neighbourhoods(partitions[a:b].astype(np.int64),
                                                        indices[a:b].astype(np.int64), indptr)
        return samples
