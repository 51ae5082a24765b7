"""ECN's event convolutions as Keras layers (Jack et al., ACCV 2020; jackd/ecn ``ecn/layers/conv.py``).

For output event i with neighbours j (input events, each tagged with a spatial partition p), and
dt_ij = (t_i - t_j) / τ:

    y_i = act(b + Σ_p Σ_k Σ_{j ∈ N_p(i)} exp(-λ_{p,k} dt_ij) x_j W_{p,k})

with λ (``decay``, [P, K]) initialised to ones and kept non-negative, W (``kernel``) [P, K, F_in, F_out]
glorot-uniform and an L2-regularisable kernel. Neighbourhoods arrive as flat edge arrays (see
``evrepro.streams.batches``): ``segments`` = i·P + p, ``sources`` = j, ``dt``. A batch is one
block-diagonal problem, computed edge-first (the original takes P·K sparse products): the edges are split by
partition, each edge's K weighted copies of x_j [E_p, K·F_in] go through its partition's kernel [K·F_in, F_out] in
one matrix product, and the products are summed per output event. The work and memory grow with the edges, not
with N_out·P·K·F_in: most (event, partition) pairs have no edge, and summing into all of them first (a dense
[N_out, P·K·F_in] tensor) made the scatter, not the products, the cost of a training step. The first layer's input
is binary polarity, so its sums are kept per (event, partition, polarity) (the kernel is [P, 2K, F_out]) and no
features are gathered.

On the CPU the convolutions run as ``evrepro.ecn.fused``'s kernels (``fused_event_conv``, and ``fused_binary_sums``
for the first layer's sums), which form no per-edge tensor at all; on a GPU, as the TensorFlow ops above
(``composed_event_conv``, ``composed_binary_sums``). The two agree to float32 rounding (tests/test_ecn_conv.py).
"""

import keras
import tensorflow as tf

from evrepro.ecn import fused


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

    def decays(self):
        """λ as [P, K]."""
        return tf.reshape(self.decay, (self.partitions, self.temporal_kernel_size))

    def call(self, features, segments, sources, dt, *, num_outputs):
        """y_i = act(b + Σ_p Σ_(edges of i in p) (exp(-λ_p dt) ⊗ x_j) W_p)."""
        kernel = tf.reshape(self.kernel, (self.partitions, -1, self.filters))  # [P, K·F_in, F_out]
        convolve = fused_event_conv if fused_kernels() else composed_event_conv
        out = convolve(features, kernel, self.decays(), segments, sources, dt, num_outputs)
        return self.activation(out + self.bias)


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

    def call(self, polarity, segments, sources, dt, *, num_outputs):
        """Σ_j exp(-λ_{p,k} dt_ij) per (output event, partition, polarity of j), then one product with the kernel."""
        sum_weights = fused_binary_sums if fused_kernels() else composed_binary_sums
        sums = sum_weights(polarity, self.decays(), segments, sources, dt, num_outputs)
        return self.activation(tf.matmul(sums, tf.reshape(self.kernel, (-1, self.filters))) + self.bias)


def fused_kernels() -> bool:
    """Whether the layers run ``evrepro.ecn.fused``'s CPU kernels: when TensorFlow sees no GPU."""
    return not tf.config.list_logical_devices("GPU")


@tf.custom_gradient
def segment_sum(data, segment_ids, num_segments):
    """``tf.math.unsorted_segment_sum`` for ids that are all valid (0 <= id < num_segments), as every edge's are.

    Its gradient is a plain gather: TensorFlow's own also masks out negative ids (a select and a tensor of zeros as
    large as the data), which was a tenth of a training step.
    """

    def gradient(upstream):
        return tf.gather(upstream, segment_ids), None, None

    return tf.math.unsorted_segment_sum(data, segment_ids, num_segments), gradient


def composed_event_conv(features, kernel, decay, segments, sources, dt, num_outputs):
    """Σ_p Σ_(edges of i in p) (exp(-λ_p dt) ⊗ x_j) W_p as TensorFlow ops: one product per partition.

    ``kernel`` [P, K·F_in, F_out], ``decay`` [P, K]; every edge's weighted copies [E_p, K·F_in] are formed.
    """
    partitions = kernel.shape[0]
    edges = tf.range(tf.size(segments))
    products, outputs = [], []
    members_of = tf.dynamic_partition(edges, segments % partitions, partitions)
    for members, decay_p, kernel_p in zip(members_of, tf.unstack(decay), tf.unstack(kernel)):
        weights = tf.exp(-decay_p * tf.gather(dt, members)[:, None])  # [E_p, K]
        inputs = tf.gather(features, tf.gather(sources, members))
        weighted = tf.reshape(weights[:, :, None] * inputs[:, None, :], (-1, kernel.shape[1]))
        products.append(tf.matmul(weighted, kernel_p))
        outputs.append(tf.gather(segments, members) // partitions)
    return segment_sum(tf.concat(products, 0), tf.concat(outputs, 0), num_outputs)


def composed_binary_sums(polarity, decay, segments, sources, dt, num_outputs):
    """The binary stem's temporal sums [num_outputs, P·2·K] as TensorFlow ops: each edge's K weights summed into
    segment (i·P + p)·2 + polarity_j."""
    partitions, kernels = decay.shape
    keys = segments * 2 + tf.gather(tf.cast(polarity, segments.dtype), sources)
    temporal_weights = tf.exp(-tf.gather(decay, segments % partitions) * dt[:, None])  # [E, K]
    sums = segment_sum(temporal_weights, keys, num_outputs * partitions * 2)
    return tf.reshape(sums, (num_outputs, partitions * 2 * kernels))


@tf.custom_gradient
def fused_binary_sums(polarity, decay, segments, sources, dt, num_outputs):
    """``composed_binary_sums`` by ``evrepro.ecn.fused``'s CPU kernels, with their gradient (decay, dt)."""

    def forward(*arrays):
        return fused.binary_sums_forward(*arrays[:-1], int(arrays[-1]))

    inputs = [polarity, decay, segments, sources, dt]
    sums, weights = tf.numpy_function(forward, [*inputs, num_outputs], [dt.dtype] * 2, stateful=False)
    sums = tf.ensure_shape(sums, (None, decay.shape[0] * 2 * decay.shape[1]))

    def gradient(upstream):
        d_decay, d_dt = tf.numpy_function(fused.binary_sums_backward, [*inputs, weights, upstream], [dt.dtype] * 2,
                                          stateful=False)
        return None, tf.ensure_shape(d_decay, decay.shape), None, None, tf.ensure_shape(d_dt, dt.shape), None

    return sums, gradient


@tf.custom_gradient
def fused_event_conv(features, kernel, decay, segments, sources, dt, num_outputs):
    """``composed_event_conv`` by ``evrepro.ecn.fused``'s CPU kernels, with their gradient (features, kernel,
    decay, dt); the forward kernel's temporal weights are kept for the backward one."""

    def forward(*arrays):
        return fused.event_conv_forward(*arrays[:-1], int(arrays[-1]))

    inputs = [features, kernel, decay, segments, sources, dt]
    out, weights = tf.numpy_function(forward, [*inputs, num_outputs], [features.dtype] * 2, stateful=False)
    out = tf.ensure_shape(out, (None, kernel.shape[2]))

    def gradient(upstream):
        found = tf.numpy_function(fused.event_conv_backward, [*inputs, weights, upstream], [features.dtype] * 4,
                                  stateful=False)
        d_features, d_kernel, d_decay, d_dt = (tf.ensure_shape(d, x.shape)
                                               for d, x in zip(found, (features, kernel, decay, dt)))
        return d_features, d_kernel, d_decay, None, None, d_dt, None

    return out, gradient
