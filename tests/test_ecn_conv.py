"""ECN's event convolutions against a direct evaluation of their formula, finite differences and batching; the
fused CPU kernels against the TensorFlow op composition a GPU runs."""

import numpy as np
import pytest
import tensorflow as tf

from evrepro.ecn import fused
from evrepro.ecn.conv import (BinaryEventConv, EventConv, TemporalEventConv, composed_binary_sums, composed_event_conv,
                              fused_binary_sums, fused_event_conv)


def reference_conv(features, segments, sources, dt, decay, kernel, bias, partitions, num_outputs):
    """y_i = b + Σ over edges (i, p, j) of Σ_k exp(-λ[p, k] dt) x_j W[p, k], one edge at a time."""
    decay = decay.reshape(partitions, -1)
    kernel = kernel.reshape(partitions, decay.shape[1], features.shape[1], -1)
    out = np.tile(bias.astype(np.float64), (num_outputs, 1))
    for segment, j, delta in zip(segments, sources, dt):
        i, p = divmod(int(segment), partitions)
        for k in range(decay.shape[1]):
            out[i] += np.exp(-decay[p, k] * delta) * (features[j] @ kernel[p, k])
    return out


def random_edges(rng, num_outputs, num_inputs, partitions, edges):
    segments = rng.integers(0, num_outputs * partitions, edges).astype(np.int32)
    return segments, rng.integers(0, num_inputs, edges).astype(np.int32), rng.uniform(0, 4, edges).astype(np.float32)


def randomise(layer, rng):
    """Give every weight a random value (decays positive and distinct), so the test checks every term."""
    for weight in layer.weights:
        values = rng.uniform(0.1, 2.0, weight.shape) if "decay" in weight.path else rng.normal(size=weight.shape)
        weight.assign(values.astype(weight.dtype))


@pytest.mark.parametrize("kind", ["spatio-temporal", "temporal", "binary"])
def test_event_convolutions_match_the_formula(kind):
    rng = np.random.default_rng(1)
    num_inputs, num_outputs, channels, filters = 12, 7, 3, 5
    if kind == "spatio-temporal":
        layer, partitions = EventConv(filters, 9, 2, dtype="float64"), 9
    elif kind == "temporal":
        layer, partitions = TemporalEventConv(filters, 3, dtype="float64"), 1
    else:
        layer, partitions = BinaryEventConv(filters, 9, 2, dtype="float64"), 9
    segments, sources, dt = random_edges(rng, num_outputs, num_inputs, partitions, 60)
    if kind == "binary":
        polarity = rng.integers(0, 2, num_inputs).astype(np.int32)
        features, inputs = np.eye(2)[polarity], polarity
    else:
        features = inputs = rng.normal(size=(num_inputs, channels))
    layer(inputs, segments, sources, dt.astype(np.float64), num_outputs=num_outputs)
    randomise(layer, rng)
    got = layer(inputs, segments, sources, dt.astype(np.float64), num_outputs=num_outputs).numpy()
    decay, kernel, bias = (w.numpy() for w in layer.weights)
    if kind == "binary":  # kernel [P, 2K, F]: polarity-major within a partition
        kernel = kernel.reshape(partitions, 2, -1, filters).transpose(0, 2, 1, 3)
    expected = reference_conv(features, segments, sources, dt.astype(np.float64), decay, kernel, bias, partitions,
                              num_outputs)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("layer_class", [EventConv, BinaryEventConv])
def test_gradients_match_finite_differences(layer_class):
    """Gradients with respect to every weight, the time differences and (float input) the features."""
    rng = np.random.default_rng(2)
    num_inputs, num_outputs = 6, 4
    layer = layer_class(3, 9, 2, activation="tanh", dtype="float64")
    segments, sources, dt = random_edges(rng, num_outputs, num_inputs, 9, 25)
    binary = layer_class is BinaryEventConv
    tensors = {"dt": dt.astype(np.float64)}
    if binary:
        polarity = rng.integers(0, 2, num_inputs).astype(np.int32)
    else:
        tensors["features"] = rng.normal(size=(num_inputs, 2))
    probe = rng.normal(size=(num_outputs, 3))

    def objective(values):
        features = polarity if binary else values["features"]
        out = layer(features, segments, sources, values["dt"], num_outputs=num_outputs)
        return tf.reduce_sum(probe * out)

    objective(tensors)
    randomise(layer, rng)
    watched = {name: tf.constant(value) for name, value in tensors.items()}
    with tf.GradientTape() as tape:
        tape.watch(list(watched.values()))
        value = objective(watched)
    analytic = dict(zip([w.path for w in layer.weights] + list(watched),
                        tape.gradient(value, layer.weights + list(watched.values()))))
    eps = 1e-6

    def numeric(name, index):
        shifted = []
        for sign in (1, -1):
            if name in tensors:
                values = {key: array.copy() for key, array in tensors.items()}
                values[name][index] += sign * eps
                shifted.append(float(objective(values)))
            else:
                weight = next(w for w in layer.weights if w.path == name)
                original = weight.numpy()
                changed = original.copy()
                changed[index] += sign * eps
                weight.assign(changed)
                shifted.append(float(objective(tensors)))
                weight.assign(original)
        return (shifted[0] - shifted[1]) / (2 * eps)

    for name, gradient in analytic.items():
        gradient = tf.convert_to_tensor(gradient).numpy()
        for index in list(np.ndindex(gradient.shape))[:: max(1, gradient.size // 12)]:
            assert gradient[index] == pytest.approx(numeric(name, index), rel=1e-5, abs=1e-8), (name, index)


def test_decays_stay_non_negative_under_the_optimiser():
    import keras

    layer = EventConv(2, 9, 2)
    features = tf.constant(np.ones((3, 2), np.float32))
    segments, sources, dt = np.array([0, 9, 18], np.int32), np.array([0, 1, 2], np.int32), np.ones(3, np.float32)
    layer(features, segments, sources, dt, num_outputs=3)  # every edge in partition 0
    layer.kernel.assign(np.ones(layer.kernel.shape, np.float32))
    optimizer = keras.optimizers.SGD(100.0)
    with tf.GradientTape() as tape:  # the loss rewards small decays: a large step drives them below zero
        loss = -tf.reduce_sum(layer(features, segments, sources, dt, num_outputs=3))
    optimizer.apply_gradients(zip(tape.gradient(loss, layer.trainable_variables), layer.trainable_variables))
    decay = layer.decay.numpy()
    assert np.all(decay[0] == 0.0) and np.all(decay[1:] == 1.0)


@pytest.mark.parametrize("partitions, temporal, order", [(9, 4, "sorted"), (1, 16, "sorted"), (9, 4, "shuffled"),
                                                         (9, 4, "no edges")])
def test_fused_kernels_equal_the_composed_ops(partitions, temporal, order):
    """Output and every gradient (features, kernel, decay, dt) in float32, on edges sorted by segment as a batch
    has them (runs of several edges, blocks of several runs), shuffled, or none; the same inputs give the same bits."""
    rng = np.random.default_rng(3)
    num_inputs, num_outputs, channels, filters = 300, 200, 8, 6
    edges = 0 if order == "no edges" else 3000
    segments, sources, dt = random_edges(rng, num_outputs, num_inputs, partitions, edges)
    if order == "sorted":
        segments = np.sort(segments)
    features = tf.constant(rng.normal(size=(num_inputs, channels)).astype(np.float32))
    kernel = tf.constant(rng.normal(size=(partitions, temporal * channels, filters)).astype(np.float32))
    decay = tf.constant(rng.uniform(0.1, 2.0, (partitions, temporal)).astype(np.float32))
    dt = tf.constant(dt)
    probe = rng.normal(size=(num_outputs, filters)).astype(np.float32)

    def run(convolve):
        with tf.GradientTape() as tape:
            tape.watch([features, kernel, decay, dt])
            out = convolve(features, kernel, decay, segments, sources, dt, num_outputs)
            value = tf.reduce_sum(probe * out)
        return [out] + [tf.convert_to_tensor(g) for g in tape.gradient(value, [features, kernel, decay, dt])]

    fused, composed = run(fused_event_conv), run(composed_event_conv)
    assert fused[0].shape == (num_outputs, filters)
    for name, got, expected in zip(["out", "features", "kernel", "decay", "dt"], fused, composed):
        scale = max(float(tf.reduce_max(tf.abs(expected))), 1.0)
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=0, atol=2e-5 * scale, err_msg=name)
    if edges:
        assert float(tf.reduce_max(tf.abs(fused[0]))) > 1.0  # the edges reached the outputs
    for first, again in zip(fused, run(fused_event_conv)):
        assert np.array_equal(first.numpy(), again.numpy())


@pytest.mark.parametrize("order", ["sorted", "shuffled", "no edges"])
def test_fused_binary_sums_equal_the_composed_ops(order):
    """The stem's temporal sums and their gradients (decay, dt) in float32; the same inputs give the same bits."""
    rng = np.random.default_rng(4)
    num_inputs, num_outputs, partitions, temporal = 300, 200, 9, 4
    segments, sources, dt = random_edges(rng, num_outputs, num_inputs, partitions, 0 if order == "no edges" else 3000)
    if order == "sorted":
        segments = np.sort(segments)
    polarity = rng.integers(0, 2, num_inputs).astype(np.int32)
    decay = tf.constant(rng.uniform(0.1, 2.0, (partitions, temporal)).astype(np.float32))
    dt = tf.constant(dt)
    probe = rng.normal(size=(num_outputs, partitions * 2 * temporal)).astype(np.float32)

    def run(sum_weights):
        with tf.GradientTape() as tape:
            tape.watch([decay, dt])
            sums = sum_weights(polarity, decay, segments, sources, dt, num_outputs)
            value = tf.reduce_sum(probe * sums)
        return [sums] + [tf.convert_to_tensor(g) for g in tape.gradient(value, [decay, dt])]

    fused_sums, composed = run(fused_binary_sums), run(composed_binary_sums)
    for name, got, expected in zip(["sums", "decay", "dt"], fused_sums, composed):
        scale = max(float(tf.reduce_max(tf.abs(expected))), 1.0)
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=0, atol=2e-5 * scale, err_msg=name)
    if order != "no edges":
        assert float(tf.reduce_max(fused_sums[0])) > 1.0  # several edges summed into one column
    for first, again in zip(fused_sums, run(fused_binary_sums)):
        assert np.array_equal(first.numpy(), again.numpy())


@pytest.mark.parametrize("rows", [1, 3, 17, 1000])
def test_the_kernels_return_arrays_on_64_byte_boundaries(rows):
    """TensorFlow wraps them in place; data aligned otherwise made its kernels sum in another order from one
    process to the next."""
    rng = np.random.default_rng(rows)
    segments, sources, dt = random_edges(rng, rows, rows, 9, 5 * rows)
    segments = np.sort(segments)
    features = rng.normal(size=(rows, 3)).astype(np.float32)
    kernel = rng.normal(size=(9, 2 * 3, 5)).astype(np.float32)
    decay = rng.uniform(0.1, 2.0, (9, 2)).astype(np.float32)
    out, weights = fused.event_conv_forward(features, kernel, decay, segments, sources, dt, rows)
    upstream = rng.normal(size=out.shape).astype(np.float32)
    gradients = fused.event_conv_backward(features, kernel, decay, segments, sources, dt, weights, upstream)
    sums, stem_weights = fused.binary_sums_forward(np.ones(rows, np.int32), decay, segments, sources, dt, rows)
    stem_gradients = fused.binary_sums_backward(np.ones(rows, np.int32), decay, segments, sources, dt, stem_weights,
                                                np.ones_like(sums))
    for array in (out, weights, *gradients, sums, stem_weights, *stem_gradients):
        assert array.ctypes.data % 64 == 0 and array.flags["C_CONTIGUOUS"]
