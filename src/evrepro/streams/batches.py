"""Batches of stream-cache samples for ECN (numpy only): the order of an epoch and the collated arrays.

**Order.** Reading one sample at a time from a compressed HDF5 cache is slow (each read decompresses
whole chunks), so an epoch reads contiguous *blocks* of samples: the blocks are visited in a seeded
random order, ``buffer_blocks`` of them at a time are read into a buffer, and the samples of a buffer
are shuffled and cut into batches (a shuffle buffer over shuffled blocks, as tf.data's ``shuffle``
over ECN's sequential caches). Memory is bounded by one buffer. The order depends only on
(seed, epoch), so a batch is addressed by (epoch, batch index): the input pipeline's position.

**Collation** (ECN's post-batch stage): per-event arrays of the samples are concatenated;
every convolution's neighbourhood becomes flat edge arrays with global indices — ``segments`` =
output event × partitions + partition, ``sources`` = input event, ``dt`` = (t_out - t_in) / τ of
that convolution — and every voxel level gets the flat index of each event's voxel in
[batch, frames, height, width], with frame = floor(frames · t / t_end) and t_end = last input time + 1.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from evrepro.streams.params import StreamParams, convolutions
from evrepro.streams.sample import StreamSample

@dataclass(frozen=True)
class EpochOrder:
    """The sample order of one epoch: buffers of blocks, and the samples in the order they are used."""

    buffers: list[list[tuple[int, int]]]  # per buffer: the (start, stop) blocks of samples it reads
    samples: list[np.ndarray]  # per buffer: its samples, in the order the epoch uses them
    batch_size: int

    @property
    def num_batches(self) -> int:
        return -(-sum(s.size for s in self.samples) // self.batch_size)


def epoch_order(first: int, count: int, batch_size: int, *, shuffle: bool, seed: int = 0, epoch: int = 0,
                block_size: int = 64, buffer_blocks: int = 16) -> EpochOrder:
    """The order of one pass over samples ``first`` .. ``first + count - 1``; consecutive ``batch_size``
    samples form a batch (the last one may be short)."""
    blocks = [(int(a), int(min(a + block_size, first + count))) for a in range(first, first + count, block_size)]
    rng = np.random.default_rng([seed, epoch])
    if shuffle:
        blocks = [blocks[k] for k in rng.permutation(len(blocks))]
    buffers, samples = [], []
    for k in range(0, len(blocks), buffer_blocks):
        group = blocks[k : k + buffer_blocks]
        members = np.concatenate([np.arange(a, b) for a, b in group])
        buffers.append(group)
        samples.append(members[rng.permutation(members.size)] if shuffle else members)
    return EpochOrder(buffers, samples, batch_size)


def read_batches(store, split: str, order: EpochOrder, start_batch: int = 0) -> Iterator[list[dict]]:
    """The samples of each batch of ``order`` from ``start_batch`` on, reading one buffer at a time."""
    skip = start_batch * order.batch_size
    pending: list[dict] = []
    for blocks, members in zip(order.buffers, order.samples):
        if skip >= members.size:
            skip -= members.size
            continue
        loaded = {}
        for a, b in blocks:
            for offset, sample in enumerate(store.block(split, a, b)):
                loaded[a + offset] = sample
        pending += [loaded[int(i)] for i in members[skip:]]
        skip = 0
        while len(pending) >= order.batch_size:
            yield pending[: order.batch_size]
            pending = pending[order.batch_size :]
    if pending:
        yield pending


def collate(samples: list[StreamSample], params: StreamParams, voxel_levels: list[int]) -> dict[str, np.ndarray]:
    """Flat model inputs of a batch of stream samples (see the module docstring), ``batch_size`` and ``labels``."""
    num_streams = params.num_levels + 1
    offsets = np.zeros((len(samples) + 1, num_streams), np.int64)
    for n, sample in enumerate(samples):
        offsets[n + 1] = offsets[n] + [sample.streams[k].times.size for k in range(num_streams)]
    batch = {"labels": np.array([s.label for s in samples], np.int32),
             "batch_size": np.int32(len(samples)),
             "sizes": offsets[-1].astype(np.int32),
             "polarity": np.concatenate([s.polarity for s in samples]).astype(np.int32)}
    for conv in convolutions(params):
        name = conv.name
        segments, sources, dt = [], [], []
        for n, sample in enumerate(samples):
            partitions, indices, indptr = sample.convs[name]
            rows = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
            t_out = sample.streams[conv.target].times[rows]
            t_in = sample.streams[conv.source].times[indices]
            segments.append((rows + offsets[n, conv.target]) * conv.partitions + partitions)
            sources.append(indices + offsets[n, conv.source])
            dt.append((t_out - t_in) / conv.time_scale_us)
        batch[f"{name}_segments"] = np.concatenate(segments).astype(np.int32)
        batch[f"{name}_sources"] = np.concatenate(sources).astype(np.int32)
        batch[f"{name}_dt"] = np.concatenate(dt).astype(np.float32)
    for level in voxel_levels:
        frames = 2 ** (params.num_levels - 1 - level)
        height, width = samples[0].shapes[level + 1]
        voxels = []
        for n, sample in enumerate(samples):
            times, pixels = sample.streams[level + 1]
            frame = np.floor(frames * times / sample.end_time).astype(np.int64)
            voxels.append((n * frames + frame) * height * width + pixels)
        batch[f"voxel{level}"] = np.concatenate(voxels).astype(np.int32)
    return batch
