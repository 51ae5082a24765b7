"""FLOPs of one forward pass of ECN's vox-pool network on a collated batch (numpy only), per layer.

Definition (for the training roofline, ``bench/bench_roofline.py``): a multiply-add counts 2 FLOPs, and only the
products that carry the network's arithmetic are counted:

- an event convolution (P partitions, K temporal kernels, F_in -> F_out) on E edges: per edge its K weighted copies
  of x_j (K·F_in) and their product with the partition's kernel (2·K·F_in·F_out);
- the binary stem on E edges onto N_out events: per edge K additions, then 2·N_out·P·2K·F_out for the kernel;
- the in-place MLP on N events of F channels: 2·N·F·4F twice;
- a strided Conv3D onto V output voxels: 2·V·8·F_in·F_out; the head's dense layers: 2·rows·in·out.

Not counted: the exponentials, biases, activations, BatchNorm, dropout, voxel means and max-pools, gathers and
scatters (a few percent of the products). A training step is counted as three forward passes (the backward pass
computes the gradients with respect to the inputs and to the weights, a forward's products each).
"""

import numpy as np

from evrepro.ecn.presets import ECNConfig
from evrepro.streams.params import LINK_PARTITIONS

TRAINING_STEP_FORWARDS = 3


def forward_flops(config: ECNConfig, batch: dict[str, np.ndarray]) -> dict[str, int]:
    """FLOPs per layer of one forward pass on ``batch`` (``evrepro.streams.batches.collate``'s arrays)."""
    sizes, batch_size, kt = [int(n) for n in batch["sizes"]], int(batch["batch_size"]), config.temporal_kernel_size

    def edges(name):
        return int(batch[f"{name}_sources"].size)

    def event_conv(name, k, f_in, f_out):
        return edges(name) * k * f_in * (1 + 2 * f_out)

    flops = {"stem": edges("stem") * kt + 2 * sizes[1] * LINK_PARTITIONS["strided"] * 2 * kt * config.filters(0)}
    for i in range(config.num_levels):
        f, n = config.filters(i), sizes[i + 1]
        flops[f"level{i}_cross"] = event_conv(f"level{i}_cross", kt, f, f)
        flops[f"level{i}_point"] = event_conv(f"level{i}_point", 4 * kt, f, f)
        flops[f"level{i}_mlp"] = 2 * 2 * n * f * 4 * f
        if i > config.vox_start:
            height, width = config.level_shapes[i + 1]
            voxels = batch_size * config.frames(i) * height * width
            flops[f"level{i}_voxel_conv"] = 2 * voxels * 8 * config.filters(i - 1) * f
        if i < config.num_levels - 1:
            flops[f"level{i}_down"] = event_conv(f"level{i}_down", kt, f, config.filters(i + 1))
    last = config.filters(config.num_levels - 1)
    height, width = config.level_shapes[-1]
    widths = [2 * last, *config.hidden_units, 1 if config.binary_logit else config.num_classes]
    flops["head"] = 2 * batch_size * height * width * last * 2 * last + sum(
        2 * batch_size * a * b for a, b in zip(widths[:-1], widths[1:]))
    return flops


def training_step_flops(config: ECNConfig, batch: dict[str, np.ndarray]) -> int:
    """FLOPs of one training step on ``batch``: three forward passes' (see the module docstring)."""
    return TRAINING_STEP_FORWARDS * int(sum(forward_flops(config, batch).values()))
