"""ECN's FLOP count (the training roofline's) on a batch small enough to count by hand."""

import numpy as np

from evrepro.ecn.flops import forward_flops, training_step_flops
from evrepro.ecn.presets import ECNConfig


def edges(count: int) -> np.ndarray:
    return np.zeros(count, np.int32)


def test_the_count_follows_its_stated_definition_layer_by_layer():
    # 2 levels of 4 and 8 filters, K = 2, voxels from level 0 on 2×2 and 1×1 grids, one hidden layer of 3 units
    config = ECNConfig(num_classes=5, level_shapes=((4, 4), (2, 2), (1, 1)), filters0=4, vox_start=0,
                       temporal_kernel_size=2, hidden_units=(3,))
    batch = {"sizes": np.array([20, 6, 2]), "batch_size": np.int32(2), "stem_sources": edges(10),
             "level0_cross_sources": edges(7), "level0_point_sources": edges(5), "level0_down_sources": edges(4),
             "level1_cross_sources": edges(3), "level1_point_sources": edges(1)}
    flops = forward_flops(config, batch)
    assert flops["stem"] == 10 * 2 + 2 * 6 * 9 * (2 * 2) * 4  # K additions per edge, then the [N, 9·2K] × [9·2K, F]
    assert flops["level0_cross"] == 7 * 2 * 4 * (1 + 2 * 4)  # per edge: K·F_in copies, 2·K·F_in·F_out products
    assert flops["level0_point"] == 5 * 8 * 4 * (1 + 2 * 4)  # the pointwise layer has 4K temporal kernels
    assert flops["level0_mlp"] == 2 * 2 * 6 * 4 * 16
    assert flops["level0_down"] == 4 * 2 * 4 * (1 + 2 * 8)
    assert flops["level1_cross"] == 3 * 2 * 8 * (1 + 2 * 8) and flops["level1_point"] == 1 * 8 * 8 * (1 + 2 * 8)
    assert flops["level1_voxel_conv"] == 2 * (2 * 1 * 1 * 1) * 8 * 4 * 8  # B·frames·H·W voxels, 2×2×2 kernel
    assert flops["head"] == 2 * 2 * 1 * 8 * 16 + 2 * 2 * 16 * 3 + 2 * 2 * 3 * 5
    assert set(flops) == {"stem", "level0_cross", "level0_point", "level0_mlp", "level0_down", "level1_cross",
                          "level1_point", "level1_mlp", "level1_voxel_conv", "head"}
    assert training_step_flops(config, batch) == 3 * sum(flops.values())
