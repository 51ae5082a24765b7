"""ECN's network with its loss and compiled train and predict steps on one stream cache, and the TensorFlow
settings a job runs under (device, threads, replicas, op determinism)."""

import logging
from contextlib import nullcontext

import keras
import numpy as np
import tensorflow as tf

from evrepro.ecn.data import Passes, input_signature, split_order
from evrepro.ecn.fused import single_threaded_blas
from evrepro.ecn.network import VoxPoolNetwork
from evrepro.ecn.presets import ECNConfig
from evrepro.ecn.replicas import distribute, split_cpu
from evrepro.streams.store import StreamStore
from evrepro.training.allocator import keep_freed_memory

log = logging.getLogger(__name__)
EVAL_BATCH = 64
DEVICES = ("auto", "cpu", "gpu")


def configure_tensorflow(device: str, threads: int | None, replicas: int = 1) -> str:
    """Pin the device ("auto", "cpu", "gpu") and CPU threads (BLAS: one, see ``evrepro.ecn.fused``), turn op
    determinism on and, on the CPU, keep freed memory for reuse (``evrepro.training.allocator``); returns the device
    used.

    ``replicas`` > 1 on the CPU splits it into that many logical devices for data-parallel training.
    """
    if device not in DEVICES:
        raise ValueError(f"device {device!r} is none of {DEVICES}")
    if threads and tf.config.threading.get_intra_op_parallelism_threads() != threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # this process already ran TensorFlow: its thread pools are fixed
            log.warning("TensorFlow is already initialised in this process; %d threads not applied", threads)
    gpus = tf.config.list_physical_devices("GPU")
    if device == "gpu" and not gpus:
        raise RuntimeError("device is 'gpu' but tensorflow sees no GPU (is tensorflow-cpu installed?)")
    if device == "cpu" and gpus:
        tf.config.set_visible_devices([], "GPU")
        gpus = []
    if replicas > 1 and not gpus:
        split_cpu(replicas)
    tf.config.experimental.enable_op_determinism()
    single_threaded_blas()
    if not gpus:
        keep_freed_memory()
    return "gpu" if gpus else "cpu"


class Classifier:
    """A VoxPoolNetwork with its loss, compiled train and predict steps for one stream cache; its variables are
    mirrored over the replicas of ``strategy`` when one is given (``evrepro.ecn.replicas``)."""

    def __init__(self, cache_path, config: ECNConfig, seed: int, strategy: tf.distribute.Strategy | None = None):
        self.cache_path, self.config, self.strategy = cache_path, config, strategy
        with StreamStore(cache_path) as store:
            self.params = store.params
        keras.utils.set_random_seed(seed)
        with self.scope():
            self.model = VoxPoolNetwork(config, seed, synchronized=strategy is not None)
        self.binary = config.binary_logit
        self.loss = (keras.losses.BinaryCrossentropy(from_logits=True) if self.binary
                     else keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        spec = input_signature(self.params, config.voxel_levels)
        self.predict_step = tf.function(self._predict_step, input_signature=spec, autograph=False)
        self.spec = spec

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync if self.strategy else 1

    def scope(self):
        """Where variables are created: mirrored over the replicas, or plain."""
        return self.strategy.scope() if self.strategy else nullcontext()

    def data_loss(self, labels, logits):
        if self.binary:
            return self.loss(tf.cast(labels[:, None], logits.dtype), logits)
        return self.loss(labels, logits)

    def scores(self, logits: np.ndarray) -> np.ndarray:
        """Class scores for the metrics: the logits, or (0, logit) for a single binary logit."""
        return np.concatenate([np.zeros_like(logits), logits], axis=1) if self.binary else logits

    def _predict_step(self, inputs, labels):
        logits = self.model(inputs, training=False)
        return self.data_loss(labels, logits) * tf.cast(tf.size(labels), tf.float32), logits

    def train_step_for(self, optimizer):
        """A compiled step that trains the model on one batch as ``Passes`` yields it (one replica:
        (inputs, labels); several: (shards, weights)); returns, per replica, (mean data loss, logits, labels,
        weight of its samples)."""
        model = self.model

        def update(gradients):
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))

        # One replica on the CPU: the optimiser's update as one XLA computation (its shapes never change, so it
        # compiles once; op by op it was an eighth of a step). Several: Keras' own, which sums the replicas' gradients.
        if self.strategy is None:
            update = tf.function(update, jit_compile=not tf.config.list_logical_devices("GPU"), autograph=False)

        def step(inputs, labels, data_share, l2_share):  # a replica's share of the global batch's loss
            with tf.GradientTape() as tape:
                logits = model(inputs, training=True)
                loss = self.data_loss(labels, logits)
                if self.strategy is not None:  # Keras divides a loss by the replicas; the shares weigh them here
                    loss = loss * self.replicas
                total = loss * data_share
                if model.losses:
                    total += tf.add_n(model.losses) * l2_share
            update(tape.gradient(total, model.trainable_variables))
            return loss, logits

        if self.strategy is None:
            single = tf.function(lambda inputs, labels: step(inputs, labels, 1.0, 1.0), input_signature=self.spec,
                                 autograph=False)

            def run_single(batch):
                inputs, labels = batch
                return [(*single(inputs, labels), labels, 1.0)]

            return run_single
        replicated = tf.function(lambda values: self.strategy.run(step, args=values), reduce_retracing=True,
                                 autograph=False)

        def run_replicated(batch):
            shards, weights = batch
            losses, logits = replicated(distribute(self.strategy, shards, weights))
            local = self.strategy.experimental_local_results
            return list(zip(local(losses), local(logits), [labels for _, labels in shards], np.asarray(weights)))

        return run_replicated

    def passes(self, split: str, batch_size: int = EVAL_BATCH, *, shuffle: bool = False, seed: int = 0,
               shuffle_buffer: int = 1024, first_epoch: int = 0, first_batch: int = 0, replicas: int = 1) -> Passes:
        """A pipeline for successive passes over a split, shuffled per (seed, epoch) or in stored order; each
        batch cut into ``replicas`` shards when more than one."""

        def order_of(epoch):
            with StreamStore(self.cache_path) as store:
                return split_order(store, split, batch_size, shuffle=shuffle, seed=seed, epoch=epoch,
                                   shuffle_buffer=shuffle_buffer)

        return Passes(self.cache_path, split, self.config.voxel_levels, order_of, first_epoch, first_batch,
                      replicas=replicas)

    def build(self) -> None:
        """Create the model's variables by running it once on a batch of the validation split."""
        passes = self.passes("val", batch_size=2)
        inputs, labels = next(passes.next_pass())
        passes.close()
        with self.scope():
            self.predict_step(inputs, labels)

    def evaluate(self, passes: Passes):
        """(mean loss, accuracy, scores, labels) of the model in inference mode over the next pass of ``passes``."""
        total, scores, labels = 0.0, [], []
        for inputs, batch_labels in passes.next_pass():
            loss_sum, logits = self.predict_step(inputs, batch_labels)
            total += float(loss_sum)
            scores.append(self.scores(logits.numpy()))
            labels.append(batch_labels.numpy())
        scores, labels = np.concatenate(scores), np.concatenate(labels)
        return total / labels.size, float(np.mean(scores.argmax(1) == labels)), scores, labels
