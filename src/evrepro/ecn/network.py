"""ECN's vox-pool event-stream classifier (jackd/ecn's ``inception_vox_pooling``).

Stem: a binary-polarity event convolution from the input stream onto level 0 (3×3 link, ReLU), BN,
dropout. Each level i: an in-place block ``x + BN(ReLU(cross conv + pointwise temporal conv + MLP))``;
from ``vox_start`` on, the level's features are mean-pooled into voxels [B, frames, H, W, F], batch
normalised and added to the strided Conv3D (ReLU, BN) of the previous level's voxels; below the last
level, a strided event convolution onto the next level (ReLU), BN, dropout. Head: the last voxels
(one frame) through a per-pixel Dense(2F), global max-pool, BN, dropout, hidden Dense+ReLU+BN+dropout
layers, and the logits. L2 on every kernel, no other regularisation.

Inputs are the arrays of ``evrepro.streams.batches.collate`` as a dict of tensors.
"""

import keras
import numpy as np
import tensorflow as tf

from evrepro.ecn import fused
from evrepro.ecn.conv import BinaryEventConv, EventConv, TemporalEventConv, fused_kernels
from evrepro.ecn.presets import ECNConfig
from evrepro.streams.params import LINK_PARTITIONS


class BatchNorm(keras.layers.BatchNormalization):
    """Keras' BatchNormalization, trained through TensorFlow's fused op (one kernel forward, one backward, instead of
    ~15 elementwise ops and reductions each way) unless its statistics are synchronised over replicas.

    The same layer: the same variables and updates, normalised by the batch's biased variance, which also enters the
    moving variance (the fused op returns the unbiased one).
    """

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable) or self.synchronized or mask is not None:
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        normalized, mean, unbiased = tf.compat.v1.nn.fused_batch_norm(
            tf.reshape(inputs, (-1, 1, 1, channels)), self.gamma, self.beta, epsilon=self.epsilon, is_training=True)
        count = tf.cast(tf.size(inputs) // channels, unbiased.dtype)
        variance = unbiased * tf.maximum(count - 1, 0) / count
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return tf.reshape(normalized, tf.shape(inputs))


class InPlaceBlock(keras.layers.Layer):
    """``x + BN(ReLU(ft + fp + fc))`` on one level's stream (ECN's ``do_in_place``)."""

    def __init__(self, filters: int, temporal_kernel_size: int, l2: float, batchnorm_momentum: float,
                 synchronized: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.options = {"filters": filters, "temporal_kernel_size": temporal_kernel_size, "l2": l2,
                        "batchnorm_momentum": batchnorm_momentum, "synchronized": synchronized}
        regularizer = keras.regularizers.L2(l2)
        self.cross = EventConv(filters, LINK_PARTITIONS["cross"], temporal_kernel_size, kernel_regularizer=regularizer,
                               name="cross")
        self.point = TemporalEventConv(filters, 4 * temporal_kernel_size, kernel_regularizer=regularizer,
                                       name="point")
        self.hidden = keras.layers.Dense(4 * filters, activation="relu", kernel_regularizer=regularizer,
                                         name="mlp_hidden")
        self.out = keras.layers.Dense(filters, kernel_regularizer=regularizer, name="mlp_out")
        self.norm = BatchNorm(momentum=batchnorm_momentum, synchronized=synchronized, name="bn")

    def get_config(self) -> dict:
        return {**super().get_config(), **self.options}

    def call(self, x, cross, point, *, num_events, training=False):
        ft = self.cross(x, *cross, num_outputs=num_events)
        fp = self.point(x, *point, num_outputs=num_events)
        fc = self.out(self.hidden(x))
        return x + self.norm(tf.nn.relu(ft + fp + fc), training=training)


class VoxPoolNetwork(keras.Model):
    """The vox-pool network of one ECNConfig; ``call`` maps a collated batch to logits.

    Its dropouts are named (``stem``, ``level{i}_down``, ``pool``, ``hidden{k}``) and seeded ``seed``,
    ``seed + 1``, ... in that order. ``synchronized``: BatchNorm takes its statistics over every replica of a
    data-parallel training (``evrepro.ecn.replicas``), not over its own shard.
    """

    def __init__(self, config: ECNConfig, seed: int = 0, synchronized: bool = False, **kwargs):
        super().__init__(name=kwargs.pop("name", "ecn_vox_pool"), **kwargs)
        self.config, self.seed, self.synchronized = config, seed, synchronized
        regularizer = keras.regularizers.L2(config.l2)
        kt = config.temporal_kernel_size

        def batch_norm(name):
            return BatchNorm(momentum=config.batchnorm_momentum, synchronized=synchronized, name=name)

        self.dropouts = {}

        def add_dropout(name):
            self.dropouts[name] = keras.layers.Dropout(config.dropout_rate, seed=seed + len(self.dropouts),
                                                       name=f"{name}_dropout")

        self.stem = BinaryEventConv(config.filters(0), LINK_PARTITIONS["strided"], kt, activation="relu",
                                    kernel_regularizer=regularizer, name="stem")
        self.stem_norm = batch_norm(name="stem_bn")
        add_dropout("stem")
        self.blocks, self.downs, self.down_norms = [], [], []
        self.voxel_norms, self.voxel_convs, self.voxel_conv_norms = {}, {}, {}
        for i in range(config.num_levels):
            filters = config.filters(i)
            self.blocks.append(InPlaceBlock(filters, kt, config.l2, config.batchnorm_momentum, synchronized,
                                            name=f"level{i}_in_place"))
            if i >= config.vox_start:
                self.voxel_norms[i] = batch_norm(name=f"level{i}_voxel_bn")
                if i > config.vox_start:
                    self.voxel_convs[i] = keras.layers.Conv3D(filters, 2, strides=2, padding="same",
                                                              activation="relu", kernel_regularizer=regularizer,
                                                              name=f"level{i}_voxel_conv")
                    self.voxel_conv_norms[i] = batch_norm(name=f"level{i}_voxel_conv_bn")
            if i < config.num_levels - 1:
                self.downs.append(EventConv(config.filters(i + 1), LINK_PARTITIONS["strided"], kt, activation="relu",
                                            kernel_regularizer=regularizer, name=f"level{i}_down"))
                self.down_norms.append(batch_norm(name=f"level{i}_down_bn"))
                add_dropout(f"level{i}_down")
        last = config.filters(config.num_levels - 1)
        self.pixel_dense = keras.layers.Dense(2 * last, kernel_regularizer=regularizer, name="pixel_dense")
        self.global_pool = keras.layers.GlobalMaxPooling2D(name="global_max_pool")
        self.head_norms = [batch_norm(name="pool_bn")]
        add_dropout("pool")
        self.hidden = []
        for k, units in enumerate(config.hidden_units):
            self.hidden.append(keras.layers.Dense(units, activation="relu", kernel_regularizer=regularizer,
                                                  name=f"hidden{k}"))
            self.head_norms.append(batch_norm(name=f"hidden{k}_bn"))
            add_dropout(f"hidden{k}")
        outputs = 1 if config.binary_logit else config.num_classes
        self.logits = keras.layers.Dense(outputs, kernel_regularizer=regularizer, name="logits")

    def get_config(self) -> dict:
        return {"name": self.name, "config": self.config.as_dict(), "seed": self.seed,
                "synchronized": self.synchronized}

    @classmethod
    def from_config(cls, config: dict) -> "VoxPoolNetwork":
        return cls(ECNConfig.from_dict(config["config"]), config["seed"], config["synchronized"], name=config["name"])

    def voxelize(self, x, voxel, level: int, batch_size):
        """Mean of the level's event features per voxel: [B, frames, H, W, F] (empty voxels 0)."""
        height, width = self.config.level_shapes[level + 1]
        frames = self.config.frames(level)
        mean = fused_voxel_mean if fused_kernels() else tf.math.unsorted_segment_mean
        pooled = mean(x, voxel, batch_size * frames * height * width)
        return tf.reshape(pooled, (-1, frames, height, width, x.shape[-1]))

    def call(self, inputs, training=False):
        cfg = self.config
        sizes, batch_size = inputs["sizes"], inputs["batch_size"]

        def edges(name):
            return inputs[f"{name}_segments"], inputs[f"{name}_sources"], inputs[f"{name}_dt"]

        dropouts = self.dropouts
        x = self.stem(inputs["polarity"], *edges("stem"), num_outputs=sizes[1])
        x = dropouts["stem"](self.stem_norm(x, training=training), training=training)
        voxels = None
        for i in range(cfg.num_levels):
            x = self.blocks[i](x, edges(f"level{i}_cross"), edges(f"level{i}_point"), num_events=sizes[i + 1],
                               training=training)
            if i >= cfg.vox_start:
                fresh = self.voxel_norms[i](self.voxelize(x, inputs[f"voxel{i}"], i, batch_size), training=training)
                if voxels is not None:
                    fresh = fresh + self.voxel_conv_norms[i](self.voxel_convs[i](voxels), training=training)
                voxels = fresh
            if i < cfg.num_levels - 1:
                x = self.downs[i](x, *edges(f"level{i}_down"), num_outputs=sizes[i + 2])
                x = dropouts[f"level{i}_down"](self.down_norms[i](x, training=training), training=training)
        x = self.global_pool(self.pixel_dense(voxels[:, 0]))
        x = dropouts["pool"](self.head_norms[0](x, training=training), training=training)
        for k, (dense, norm) in enumerate(zip(self.hidden, self.head_norms[1:])):
            x = dropouts[f"hidden{k}"](norm(dense(x), training=training), training=training)
        return self.logits(x)


@tf.custom_gradient
def fused_voxel_mean(features, voxels, num_voxels):
    """``tf.math.unsorted_segment_mean`` by ``evrepro.ecn.fused``'s CPU kernels, with its gradient."""

    def forward(features, voxels, num_voxels):
        return fused.voxel_mean_forward(features, voxels, int(num_voxels))

    means, counts = tf.numpy_function(forward, [features, voxels, num_voxels], [features.dtype] * 2, stateful=False)

    def gradient(upstream):
        d_features = tf.numpy_function(fused.voxel_mean_backward, [voxels, counts, upstream], features.dtype,
                                       stateful=False)
        return tf.ensure_shape(d_features, features.shape), None, None

    return tf.ensure_shape(means, (None, features.shape[1])), gradient


def parameter_counts(model: keras.Model) -> dict[str, int]:
    """Trainable and non-trainable (BatchNorm statistics) parameter counts of a built model."""
    return {"trainable": int(sum(np.prod(v.shape) for v in model.trainable_weights)),
            "non_trainable": int(sum(np.prod(v.shape) for v in model.non_trainable_weights))}
