"""The ECN input pipeline: ``tf.data`` batches of collated stream-cache samples.

A Python generator reads the stream cache buffer by buffer in each epoch's order
(``evrepro.streams.batches``), collates each batch in numpy and hands it to ``tf.data``, which
prefetches the next batch while the model works on the current one. One pipeline serves every pass
over a split (``Passes``): building a new ``from_generator`` dataset per epoch grows the process by
about 100 MB an epoch, a long-lived one keeps memory flat however long training runs. For data-parallel
training each batch is cut into one shard per replica (``evrepro.training.execution.shard``), collated on its own.
"""

import itertools
from collections.abc import Callable, Iterator

import numpy as np
import tensorflow as tf

from evrepro.streams.batches import EpochOrder, collate, epoch_order, read_batches
from evrepro.streams.params import StreamParams, convolutions
from evrepro.streams.store import StreamStore
from evrepro.training.execution import shard


def input_signature(params: StreamParams, voxel_levels: list[int]) -> tuple[dict, tf.TensorSpec]:
    """TensorSpecs of (model inputs, labels) of a collated batch."""
    spec = {"batch_size": tf.TensorSpec((), tf.int32), "sizes": tf.TensorSpec((params.num_levels + 1,), tf.int32),
            "polarity": tf.TensorSpec((None,), tf.int32)}
    for name in (conv.name for conv in convolutions(params)):
        spec[f"{name}_segments"] = tf.TensorSpec((None,), tf.int32)
        spec[f"{name}_sources"] = tf.TensorSpec((None,), tf.int32)
        spec[f"{name}_dt"] = tf.TensorSpec((None,), tf.float32)
    for level in voxel_levels:
        spec[f"voxel{level}"] = tf.TensorSpec((None,), tf.int32)
    return spec, tf.TensorSpec((None,), tf.int32)


def split_order(store: StreamStore, split: str, batch_size: int, *, shuffle: bool, seed: int = 0, epoch: int = 0,
                shuffle_buffer: int = 1024) -> EpochOrder:
    """The order of one epoch over a split; a training epoch e reads augmented copy e mod copies."""
    copies = store.copies(split)
    count = store.num_samples(split) // copies
    first = (epoch % copies) * count
    block_size = max(1, shuffle_buffer // 16)
    return epoch_order(first, count, batch_size, shuffle=shuffle, seed=seed, epoch=epoch, block_size=block_size,
                       buffer_blocks=int(np.ceil(shuffle_buffer / block_size)))


class Passes:
    """Successive passes (epochs) over a split through one ``tf.data`` pipeline.

    ``order_of(epoch)`` gives each epoch's order; passes start at batch ``first_batch`` of
    ``first_epoch`` (a resumed run). ``next_pass()`` yields the (inputs, labels) batches of the next epoch, or
    with several ``replicas`` ((inputs, labels) of each shard, the weights of their samples).
    """

    def __init__(self, cache_path, split: str, voxel_levels: list[int], order_of: Callable[[int], EpochOrder],
                 first_epoch: int = 0, first_batch: int = 0, prefetch: int = 2, replicas: int = 1):
        self.order_of, self.epoch = order_of, first_epoch
        self.first_epoch, self.first_batch = first_epoch, first_batch
        with StreamStore(cache_path) as store:
            params = store.params

        def collated(samples):
            batch = collate(samples, params, voxel_levels)
            labels = batch.pop("labels")
            return batch, labels

        def generate():
            with StreamStore(cache_path) as store:
                for epoch in itertools.count(first_epoch):
                    start = first_batch if epoch == first_epoch else 0
                    for samples in read_batches(store, split, order_of(epoch), start):
                        if replicas == 1:
                            yield collated(samples)
                            continue
                        shards = [shard(samples, rank, replicas) for rank in range(replicas)]
                        yield tuple(collated(part) for part, _ in shards), np.array([w for _, w in shards])

        signature = input_signature(params, voxel_levels)
        if replicas > 1:
            signature = (tuple(signature for _ in range(replicas)), tf.TensorSpec((replicas,), tf.float64))
        dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
        self._iterator = iter(dataset.prefetch(prefetch))

    def batches_in(self, epoch: int) -> int:
        """How many batches a whole pass of ``epoch`` has."""
        return self.order_of(epoch).num_batches

    def next_pass(self) -> Iterator[tuple[dict, tf.Tensor]]:
        """The batches of the next epoch (from ``first_batch`` on, for the first one)."""
        start = self.first_batch if self.epoch == self.first_epoch else 0
        count = self.batches_in(self.epoch) - start
        self.epoch += 1
        for _ in range(count):
            yield next(self._iterator)

    def close(self) -> None:
        """Stop the pipeline's generator now rather than at interpreter exit."""
        self._iterator = None
