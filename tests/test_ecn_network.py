"""The vox-pool network: ECN's parameter counts per configuration, batch independence, voxel branch."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from evrepro.ecn.network import BatchNorm, VoxPoolNetwork, parameter_counts
from evrepro.ecn.presets import PRESET_NETWORKS, ECNConfig
from evrepro.events import make_events
from evrepro.streams.batches import collate
from evrepro.streams.params import PRESETS, level_shapes
from evrepro.streams.preprocess import preprocess_stream

# Counted by hand from the layer shapes of jackd/ecn's inception_vox_pooling (the original prints none):
# (dataset, sensor (width, height), classes) -> (trainable, non-trainable BatchNorm statistics)
EXPECTED = {
    ("nmnist", (34, 34), 10): (1_849_490, 2_752),
    ("mnist-dvs", (128, 128), 10): (1_890_466, 2_848),
    ("cifar10-dvs", (128, 128), 10): (1_890_466, 2_848),
    ("ncaltech101", (234, 174), 102): (7_432_414, 5_184),
    ("asl-dvs", (240, 180), 24): (7_412_368, 5_184),
    ("ncars", (120, 100), 2): (7_406_457, 5_184),
}


def synthetic_sample(sensor_size, params, seed, n=3000, duration=100_000):
    rng = np.random.default_rng(seed)
    width, height = sensor_size
    events = make_events(np.sort(rng.integers(0, duration, n)), rng.integers(0, width, n),
                         rng.integers(0, height, n), rng.integers(0, 2, n))
    sample = preprocess_stream(events, sensor_size, params)
    sample.label = int(rng.integers(0, 2))
    return sample


def as_inputs(batch):
    return {key: tf.constant(value) for key, value in batch.items() if key != "labels"}


@pytest.mark.parametrize("dataset, sensor_size, classes", list(EXPECTED))
def test_parameter_counts_match_ecn(dataset, sensor_size, classes):
    params = PRESETS[dataset]
    config = ECNConfig(num_classes=classes, level_shapes=tuple(level_shapes(sensor_size, params)),
                       **PRESET_NETWORKS[dataset])
    model = VoxPoolNetwork(config)
    samples = [synthetic_sample(sensor_size, params, seed) for seed in range(2)]
    logits = model(as_inputs(collate(samples, params, config.voxel_levels)))
    assert logits.shape == (2, 1 if dataset == "ncars" else classes)
    counts = parameter_counts(model)
    assert (counts["trainable"], counts["non_trainable"]) == EXPECTED[(dataset, sensor_size, classes)]


def test_a_samples_output_does_not_depend_on_its_batch():
    """Block-diagonal batching: in inference mode, each sample's logits are those it gets alone."""
    params = PRESETS["digits"]
    config = ECNConfig(num_classes=10, level_shapes=tuple(level_shapes((34, 34), params)), filters0=4, vox_start=0)
    model = VoxPoolNetwork(config)
    samples = [synthetic_sample((34, 34), params, seed, n=n) for seed, n in ((0, 4000), (1, 50), (2, 2500))]
    together = model(as_inputs(collate(samples, params, config.voxel_levels))).numpy()
    for k, sample in enumerate(samples):
        alone = model(as_inputs(collate([sample], params, config.voxel_levels))).numpy()
        np.testing.assert_allclose(together[k], alone[0], rtol=1e-5, atol=1e-5)
    assert not np.allclose(together[0], together[2])


def test_bad_configurations_are_refused():
    shapes = ((34, 34), (17, 17), (9, 9))
    with pytest.raises(ValueError, match="vox_start must be in"):
        ECNConfig(num_classes=10, level_shapes=shapes, vox_start=2)
    with pytest.raises(ValueError, match="binary_logit needs 2 classes"):
        ECNConfig(num_classes=10, level_shapes=shapes, vox_start=0, binary_logit=True)


def test_layers_and_the_network_round_trip_through_their_config_and_checkpoints_key_by_variable_path(tmp_path):
    from evrepro.ecn.checkpoint import assign_arrays, load_arrays, save_arrays, variable_arrays
    from evrepro.ecn.conv import BinaryEventConv, EventConv, TemporalEventConv

    for layer in (EventConv(8, 9, 4, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-3), name="c"),
                  TemporalEventConv(8, 16, name="t"), BinaryEventConv(8, 9, 4, name="b")):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config() and clone.partitions == layer.partitions

    params = PRESETS["digits"]
    config = ECNConfig(num_classes=10, level_shapes=tuple(level_shapes((34, 34), params)), filters0=4, vox_start=0,
                       hidden_units=(16, 8))
    model = VoxPoolNetwork(config, seed=5)
    assert {name: dropout.seed for name, dropout in model.dropouts.items()} == {
        "stem": 5, "level0_down": 6, "level1_down": 7, "pool": 8, "hidden0": 9, "hidden1": 10}
    inputs = as_inputs(collate([synthetic_sample((34, 34), params, 0)], params, config.voxel_levels))
    model(inputs)
    copy = VoxPoolNetwork.from_config(model.get_config())
    assert copy.config == config and copy.seed == 5
    copy(inputs)

    arrays = variable_arrays(model.weights)
    assert set(arrays) == {weight.path for weight in model.weights} and "ecn_vox_pool/stem/kernel" in arrays
    save_arrays(tmp_path / "w.npz", {"weights": arrays}, {})
    groups, _ = load_arrays(tmp_path / "w.npz")
    assign_arrays(copy.weights, groups["weights"], "weights", tmp_path / "w.npz")
    np.testing.assert_array_equal(copy(inputs).numpy(), model(inputs).numpy())
    del groups["weights"]["ecn_vox_pool/stem/kernel"]
    with pytest.raises(ValueError, match=r"w\.npz: weights hold .* missing: ecn_vox_pool/stem/kernel"):
        assign_arrays(copy.weights, groups["weights"], "weights", tmp_path / "w.npz")


@pytest.mark.parametrize("shape", [(500, 8), (4, 2, 3, 3, 8)])
def test_batch_norm_trains_and_infers_as_keras_does(shape):
    """The fused training path: the same output, gradients and moving statistics as Keras' layer to float32
    rounding of long sums, and so does inference on the moving statistics."""
    rng = np.random.default_rng(0)
    x = tf.constant((np.maximum(rng.normal(0.5, 1.0, shape), 0) * 3).astype(np.float32))
    probe = tf.constant(rng.normal(size=shape).astype(np.float32))
    gamma, beta = rng.uniform(0.5, 1.5, 8).astype(np.float32), rng.normal(size=8).astype(np.float32)
    results = []
    for layer in (keras.layers.BatchNormalization(momentum=0.9), BatchNorm(momentum=0.9)):
        layer.build(shape)
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = layer(x, training=True)
            value = tf.reduce_sum(out * probe)
        gradients = tape.gradient(value, [x, layer.gamma, layer.beta])
        results.append([out, *gradients, layer.moving_mean, layer.moving_variance, layer(x, training=False)])
    names = ["out", "d x", "d gamma", "d beta", "moving mean", "moving variance", "inference"]
    for name, expected, got in zip(names, *results):
        expected, got = np.asarray(expected), np.asarray(got)
        scale = max(np.abs(expected).max(), 1.0)
        np.testing.assert_allclose(got, expected, rtol=0, atol=2e-5 * scale, err_msg=name)
    assert not np.allclose(results[1][5], 1.0)  # the moving variance moved


def test_fused_voxel_mean_equals_tensorflow_s():
    """Means (empty voxels 0) and the gradient, against tf.math.unsorted_segment_mean."""
    from evrepro.ecn.network import fused_voxel_mean

    rng = np.random.default_rng(1)
    features = tf.constant(rng.normal(size=(400, 5)).astype(np.float32))
    voxels = tf.constant(rng.integers(0, 150, 400).astype(np.int32))  # some of the 200 voxels stay empty
    probe = rng.normal(size=(200, 5)).astype(np.float32)
    results = []
    for mean in (fused_voxel_mean, tf.math.unsorted_segment_mean):
        with tf.GradientTape() as tape:
            tape.watch(features)
            pooled = mean(features, voxels, 200)
            value = tf.reduce_sum(pooled * probe)
        results.append((pooled.numpy(), tape.gradient(value, features).numpy()))
    (got, d_got), (expected, d_expected) = results
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(d_got, d_expected, rtol=1e-6, atol=1e-7)
    assert np.all(got[150:] == 0) and np.any(got[:150] != 0)
