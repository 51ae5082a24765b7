"""Ragged per-sample arrays in HDF5: concatenated columns plus an offsets array (S+1) per group.

Columns grow along one axis (``axis``), are chunked and gzip-compressed, and are written in large
buffered blocks, so a store of any size is written in bounded memory and one sample reads alone.
"""

import json

import h5py
import numpy as np


class RaggedWriter:
    """Append samples to columns of one HDF5 group; ``close`` writes ``{offsets_name}``."""

    def __init__(self, group: h5py.Group, columns: dict[str, tuple[np.dtype, tuple[int, ...], int]],
                 offsets_name: str, chunk: int = 1 << 15, flush_items: int = 1 << 20):
        """``columns`` maps name -> (dtype, shape with the growing axis set to 0, growing axis)."""
        self.group, self.columns, self.offsets_name = group, columns, offsets_name
        self.flush_items = flush_items
        for name, (dtype, shape, axis) in columns.items():
            maxshape = tuple(None if d == axis else size for d, size in enumerate(shape))
            chunks = tuple(chunk if d == axis else size for d, size in enumerate(shape))
            group.create_dataset(name, shape=shape, maxshape=maxshape, dtype=dtype, chunks=chunks,
                                 compression="gzip", compression_opts=4, shuffle=True)
        self.offsets = [0]
        self.written = 0
        self.buffer: dict[str, list[np.ndarray]] = {name: [] for name in columns}
        self.buffered = 0

    def add(self, **arrays: np.ndarray) -> None:
        """Append one sample: every column, equal length along its growing axis."""
        self.extend(**arrays)
        self.end_sample()

    def extend(self, **arrays: np.ndarray) -> None:
        """Append a part of the current sample (a long recording arrives in blocks); ``end_sample`` closes it."""
        lengths = {arrays[name].shape[axis] for name, (_, _, axis) in self.columns.items()}
        if len(lengths) != 1:
            raise ValueError(f"columns of one sample differ in length: {lengths}")
        length = lengths.pop()
        for name in self.columns:
            self.buffer[name].append(arrays[name])
        self.written += length
        self.buffered += length
        if self.buffered >= self.flush_items:
            self.flush()

    def end_sample(self) -> None:
        """Close the current sample at everything appended so far."""
        self.offsets.append(self.written)

    def flush(self) -> None:
        if not self.buffered and not any(self.buffer.values()):
            return
        for name, (_, _, axis) in self.columns.items():
            if not self.buffer[name]:
                continue
            block = np.concatenate(self.buffer[name], axis=axis)
            dataset = self.group[name]
            start = dataset.shape[axis]
            shape = list(dataset.shape)
            shape[axis] = start + block.shape[axis]
            dataset.resize(tuple(shape))
            where = [slice(None)] * dataset.ndim
            where[axis] = slice(start, shape[axis])
            dataset[tuple(where)] = block
            self.buffer[name] = []
        self.buffered = 0

    def close(self) -> None:
        """Write what is buffered, then the offsets, which name their columns (``storage.verify`` checks them)."""
        self.flush()
        offsets = self.group.create_dataset(self.offsets_name, data=np.asarray(self.offsets, dtype=np.int64))
        offsets.attrs["columns"] = json.dumps({name: axis for name, (_, _, axis) in self.columns.items()})
