"""GraphRes's configuration, the paper's layer presets and parameter counts (plain data: importing this loads no
torch)."""

from dataclasses import asdict, dataclass

GRID_CELLS = 4  # the final max-pool uses a GRID_CELLS × GRID_CELLS grid over the sensor
# GraphRes's layers in order: what ``GraphRes.forward(return_layers=True)`` returns, what the FLOP counter counts
# and what the asynchronous engine keeps, under these names
LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5", "pool5", "conv6", "conv7", "pool7", "head")

PRESET_LAYERS = {
    "ncars": {"kernel_size": 2, "channels": [1, 8, 16, 16, 16, 32, 32, 32]},
    "ncaltech101": {"kernel_size": 8, "channels": [1, 16, 32, 32, 32, 128, 128, 128]},
}


@dataclass(frozen=True)
class GraphResConfig:
    """Architecture; the run config's ``network`` block maps onto these (plus the dataset's facts)."""

    num_classes: int
    sensor_size: tuple[int, int]  # (width, height)
    edge_scale: float  # the preprocessing radius: normalises input edge attributes
    kernel_size: int = 2
    channels: tuple[int, ...] = (1, 8, 16, 16, 16, 32, 32, 32)
    dim: int = 3
    pool_voxel: tuple[float, float] = (16.0, 12.0)
    pooled_edge_scale: float | None = None  # default: twice the larger voxel side
    root_weight: bool = True
    bias: bool = True
    fc_bias: bool = True

    def __post_init__(self):
        if len(self.channels) != 8:
            raise ValueError(f"GraphRes needs 8 channel counts (input and 7 convs), got {list(self.channels)}")

    @property
    def pooled_scale(self) -> float:
        return self.pooled_edge_scale or 2.0 * max(self.pool_voxel)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "GraphResConfig":
        """The configuration a model.json records (lists back to tuples)."""
        return cls(**{**values, "sensor_size": tuple(values["sensor_size"]), "channels": tuple(values["channels"]),
                      "pool_voxel": tuple(values["pool_voxel"])})


def network_options(network_block: dict) -> dict:
    """GraphRes options of a run's ``network`` block: the preset's layers with the block's overrides."""
    block = dict(network_block)
    options = {**PRESET_LAYERS[block.pop("preset")], **block}
    options["channels"] = tuple(options["channels"])
    options["pool_voxel"] = tuple(float(v) for v in options["pool_voxel"])
    return options


def parameter_counts(config: GraphResConfig) -> dict[str, int]:
    """Trainable parameters and BatchNorm statistics (running mean and variance) of a configuration, in closed form."""
    cells = config.kernel_size**config.dim
    trainable = statistics = 0
    for c_in, c_out in zip(config.channels[:-1], config.channels[1:]):
        trainable += cells * c_in * c_out
        trainable += c_in * c_out if config.root_weight else 0
        trainable += c_out if config.bias else 0
        trainable += 2 * c_out  # BatchNorm scale and shift
        statistics += 2 * c_out
    head_in = GRID_CELLS * GRID_CELLS * config.channels[-1]
    trainable += head_in * config.num_classes + (config.num_classes if config.fc_bias else 0)
    return {"trainable": trainable, "non_trainable": statistics}
