"""The stream store ``results/streams/{dataset}/{prep}.h5`` and its builder.

Per split: ``stream{k}/times|pixels`` (k = 0 is the input, k = 1.. the LIF levels) with ``offsets``;
per convolution ``conv/{name}/partitions|indices`` (sample-local input indices) with ``offsets``, and
``conv/{name}/row_lengths`` (one per output event, so a row's entries follow from their running sum);
``label``. ``{prep}`` is the hash of the preprocessing parameters.
"""

import json
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from evrepro.datasets.store import EventsStore
from evrepro.fileio import atomic_output, sha256_file
from evrepro.h5meta import open_store, root_attributes
from evrepro.ragged import RaggedWriter
from evrepro.streams.preprocess import StreamParams, conv_names, level_shapes, preprocess_stream

FORMAT = "evrepro.streams/1"


def _writers(group: h5py.Group, params: StreamParams):
    streams = [RaggedWriter(group.create_group(f"stream{k}"), {"times": (np.int64, (0,), 0),
                                                                "pixels": (np.int32, (0,), 0)}, "offsets")
               for k in range(params.num_levels + 1)]
    convs = {}
    for name in conv_names(params):
        conv = group.create_group(f"conv/{name}")
        convs[name] = (RaggedWriter(conv, {"partitions": (np.int8, (0,), 0), "indices": (np.int32, (0,), 0)},
                                    "offsets"),
                       RaggedWriter(conv, {"row_lengths": (np.int32, (0,), 0)}, "row_offsets"))
    return streams, convs


def build_stream_store(events_path, out_path, params: StreamParams, progress: bool = True) -> dict[str, int]:
    """Preprocess every sample of an events store into a stream store, atomically."""
    counts = {}
    with EventsStore(events_path) as events, atomic_output(out_path) as temporary:
        with h5py.File(temporary, "w") as handle:
            handle.attrs.update(root_attributes(
                FORMAT, params.as_dict(), {Path(events_path).name: sha256_file(events_path)},
                sensor_size=np.asarray(events.sensor_size), class_names=json.dumps(events.class_names),
                level_shapes=json.dumps(level_shapes(events.sensor_size, params))))
            for split in events.splits:
                group = handle.create_group(split)
                streams, convs = _writers(group, params)
                n = events.num_samples(split)
                for i in tqdm(range(n), desc=f"streams {split}", disable=not progress, mininterval=2):
                    sample = preprocess_stream(events.sample(split, i), events.sensor_size, params)
                    for writer, (times, pixels) in zip(streams, sample["streams"]):
                        writer.add(times=times, pixels=pixels)
                    for name, (partitions, indices, splits) in sample["convs"].items():
                        entries, rows = convs[name]
                        entries.add(partitions=partitions, indices=indices)
                        rows.add(row_lengths=np.diff(splits))
                for writer in streams:
                    writer.close()
                for entries, rows in convs.values():
                    entries.close()
                    rows.close()
                group.create_dataset("label", data=events.labels(split))
                counts[split] = n
    return counts


class StreamStore:
    """Read access to a stream store, one sample at a time."""

    def __init__(self, path):
        self.path = Path(path)
        self.handle = open_store(self.path, FORMAT)
        self.params = StreamParams(**json.loads(self.handle.attrs["params"]))
        self.class_names = json.loads(self.handle.attrs["class_names"])
        self.shapes = [tuple(shape) for shape in json.loads(self.handle.attrs["level_shapes"])]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()

    def num_samples(self, split: str) -> int:
        return self.handle[split]["label"].shape[0]

    def labels(self, split: str) -> np.ndarray:
        return self.handle[split]["label"][:]

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
