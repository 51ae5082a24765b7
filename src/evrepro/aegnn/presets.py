"""GraphRes layer presets of the paper and run-config resolution (plain data: importing this loads no torch)."""

PRESET_LAYERS = {
    "ncars": {"kernel_size": 2, "channels": [1, 8, 16, 16, 16, 32, 32, 32]},
    "ncaltech101": {"kernel_size": 8, "channels": [1, 16, 32, 32, 32, 128, 128, 128]},
}


def network_options(network_block: dict) -> dict:
    """GraphRes options of a run's ``network`` block: the preset's layers with the block's overrides."""
    block = dict(network_block)
    options = {**PRESET_LAYERS[block.pop("preset")], **block}
    options["channels"] = tuple(options["channels"])
    options["pool_voxel"] = tuple(float(v) for v in options["pool_voxel"])
    return options
