"""Data-parallel training of ECN: ``tf.distribute.MirroredStrategy`` over the job's GPUs, or over logical CPUs.

With R replicas every global batch (the config's ``batch_size``) is cut into R shards
(``evrepro.training.execution.shard``), each collated on its own; replica r's loss is its shard's share of the global
batch's mean and the L2 penalty's 1/R, so that the gradients Keras sums over the replicas are the global batch's;
BatchNorm layers synchronise their statistics (``synchronized=True``). The learning rate is the config's. On a
CPU the one physical device is split into R logical ones (``split_cpu``, before TensorFlow starts), which is how the
tests run two replicas without a GPU.
"""

import numpy as np
import tensorflow as tf


def split_cpu(replicas: int) -> None:
    """Make TensorFlow see ``replicas`` logical CPU devices; only possible before its runtime starts."""
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * replicas)


def mirrored(device: str, replicas: int) -> tf.distribute.MirroredStrategy:
    """A MirroredStrategy over ``replicas`` GPUs (``device`` "gpu") or logical CPU devices (``split_cpu``)."""
    kind = "GPU" if device == "gpu" else "CPU"
    devices = [logical.name for logical in tf.config.list_logical_devices(kind)]
    if len(devices) < replicas:
        raise RuntimeError(f"{replicas} replicas asked for, TensorFlow sees {len(devices)} {kind} devices")
    return tf.distribute.MirroredStrategy(devices[:replicas])


def loss_shares(sizes: list[int], weights: list[float]) -> list[float]:
    """Each replica's factor on its shard's mean loss: (its samples × their weight) / the global batch's."""
    total = sum(size * weight for size, weight in zip(sizes, weights))
    return [size * weight / total for size, weight in zip(sizes, weights)]


def distribute(strategy: tf.distribute.Strategy, shards: tuple, weights) -> tuple:
    """Per-replica step arguments (inputs, labels, data share, L2 share) from the shards of one global batch."""
    weights = np.asarray(weights, np.float64).tolist()
    shares = loss_shares([int(labels.shape[0]) for _, labels in shards], weights)
    replicas = len(shards)
    values = [(inputs, labels, tf.constant(share, tf.float32), tf.constant(1.0 / replicas, tf.float32))
              for (inputs, labels), share in zip(shards, shares)]
    return strategy.experimental_distribute_values_from_function(lambda context: values[
        context.replica_id_in_sync_group])
