"""ECN's event convolutions as Keras layers (Jack et al., ACCV 2020; jackd/ecn ``ecn/layers/conv.py``).

For output event i with neighbours j (input events, each tagged with a spatial partition p), and
dt_ij = (t_i - t_j) / τ:

    y_i = act(b + Σ_p Σ_k Σ_{j ∈ N_p(i)} exp(-λ_{p,k} dt_ij) x_j W_{p,k})

with λ (``decay``, [P, K]) initialised to ones and kept non-negative, W (``kernel``) [P, K, F_in, F_out]
glorot-uniform and an L2-regularisable kernel. Neighbourhoods arrive as flat edge arrays (see
``evrepro.streams.batches``): ``segments`` = i·P + p, ``sources`` = j, ``dt``. A batch is one
block-diagonal problem, computed with segment sums instead of the original's P·K sparse products:
gather x_j, weight it by the K exponentials, sum per segment into [N_out·P, K, F_in], and multiply
by W reshaped to [P·K·F_in, F_out]. The first layer's input is binary polarity, so its per-segment
sums are kept per polarity (the kernel is [P, 2K, F_out]) and no features are gathered.
"""

import keras
import tensorflow as tf


class EventConv(keras.layers.Layer):
    """Spatio-temporal event convolution on float features (``partitions`` 9; 1 for the pointwise layer)."""

    def __init__(self, filters: int, partitions: int, temporal_kernel_size: int, activation=None,
                 kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.partitions, self.temporal_kernel_size = filters, partitions, temporal_kernel_size
        self.activation = keras.activations.get(activation)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "partitions": self.partitions,
                "temporal_kernel_size": self.temporal_kernel_size,
                "activation": keras.activations.serialize(self.activation),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)}

    def decay_shape(self) -> tuple[int, ...]:
        return (self.partitions, self.temporal_kernel_size)

    def kernel_shape(self, in_channels: int) -> tuple[int, ...]:
        return (self.partitions, self.temporal_kernel_size, in_channels, self.filters)

    def build(self, features_shape, *edges_shapes):
        self.decay = self.add_weight(name="decay", shape=self.decay_shape(), initializer="ones",
                                     constraint=keras.constraints.NonNeg())
        self.kernel = self.add_weight(name="kernel", shape=self.kernel_shape(features_shape[-1]),
                                      initializer="glorot_uniform", regularizer=self.kernel_regularizer)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def temporal_weights(self, segments, dt):
        """exp(-λ_{p,k} dt) per edge: [E, K]."""
        decay = tf.reshape(self.decay, (self.partitions, self.temporal_kernel_size))
        return tf.exp(-tf.gather(decay, segments % self.partitions) * dt[:, None])

    def segment_sums(self, features, segments, sources, dt, num_outputs):
        """Σ_j exp(-λ_{p,k} dt_ij) x_j per (output event, partition): [N_out, P·K·F_in]."""
        weighted = self.temporal_weights(segments, dt)[:, :, None] * tf.gather(features, sources)[:, None, :]
        sums = tf.math.unsorted_segment_sum(weighted, segments, num_outputs * self.partitions)
        return tf.reshape(sums, (num_outputs, self.partitions * self.temporal_kernel_size * features.shape[-1]))

    def call(self, features, segments, sources, dt, *, num_outputs):
        sums = self.segment_sums(features, segments, sources, dt, num_outputs)
        out = tf.matmul(sums, tf.reshape(self.kernel, (-1, self.filters))) + self.bias
        return self.activation(out)


class TemporalEventConv(EventConv):
    """ECN's pointwise (same-pixel) temporal layer: one partition, decays of shape [K]."""

    def __init__(self, filters: int, temporal_kernel_size: int, **kwargs):
        kwargs.pop("partitions", None)  # from get_config: always 1
        super().__init__(filters, 1, temporal_kernel_size, **kwargs)

    def decay_shape(self) -> tuple[int, ...]:
        return (self.temporal_kernel_size,)


class BinaryEventConv(EventConv):
    """The first layer, on binary polarity: the kernel is [P, 2K, F_out] (polarity-major per partition).

    ``features`` are the input events' polarities (0/1). Each edge's K temporal weights are summed
    into segment (i·P + p)·2 + polarity_j, so no per-edge feature product is formed.
    """

    def kernel_shape(self, in_channels: int) -> tuple[int, ...]:
        return (self.partitions, 2 * self.temporal_kernel_size, self.filters)

    def build(self, polarity_shape, *edges_shapes):
        super().build((*polarity_shape, 2))

    def segment_sums(self, polarity, segments, sources, dt, num_outputs):
        keys = segments * 2 + tf.gather(tf.cast(polarity, segments.dtype), sources)
        sums = tf.math.unsorted_segment_sum(self.temporal_weights(segments, dt), keys,
                                            num_outputs * self.partitions * 2)
        return tf.reshape(sums, (num_outputs, self.partitions * 2 * self.temporal_kernel_size))
