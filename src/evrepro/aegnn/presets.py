"""GraphRes's configuration, the paper's layer presets and parameter counts (plain data: importing this loads no
torch)."""

from dataclasses import asdict, dataclass, replace

from evrepro.compat import Compat

GRID_CELLS = 4  # the final max-pool uses a GRID_CELLS × GRID_CELLS grid over the sensor
# the original's behaviours GraphRes can reproduce (``network.compat``; docs/fidelity.md), each a fix evrepro makes:
# pooled_edge_scale: after the voxel pool, edge attributes scaled by the batch's largest offset, not a fixed scale;
# data_origin: the voxel pool's and the final grid's origin at the batch's smallest position, not (0, 0);
# grid_extent: the final grid's cells numbered over the batch's extent (cells packed into fewer rows when the
# positions span fewer than 4 cells), not a fixed 4 × 4 grid
NETWORK_COMPAT = ("pooled_edge_scale", "data_origin", "grid_extent")
# GraphRes's layers in order: what ``GraphRes.forward(return_layers=True)`` returns, what the FLOP counter counts
# and what the asynchronous engine keeps, under these names
LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5", "pool5", "conv6", "conv7", "pool7", "head")

PRESET_LAYERS = {
    "ncars": {"kernel_size": 2, "channels": [1, 8, 16, 16, 16, 32, 32, 32]},
    "ncaltech101": {"kernel_size": 8, "channels": [1, 16, 32, 32, 32, 128, 128, 128]},
}


@dataclass(frozen=True)
class GraphResConfig(Compat):
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
    compat: tuple[str, ...] = ()  # the original's behaviours to reproduce (NETWORK_COMPAT); none: evrepro's fixes
    COMPAT, COMPAT_KEY = NETWORK_COMPAT, "network.compat"

    def __post_init__(self):
        if len(self.channels) != 8:
            raise ValueError(f"GraphRes needs 8 channel counts (input and 7 convs), got {list(self.channels)}")
        super().__post_init__()

    @property
    def pooled_scale(self) -> float:
        return self.pooled_edge_scale or 2.0 * max(self.pool_voxel)

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


def parameter_counts(config) -> dict[str, int]:
    """Trainable parameters and BatchNorm statistics (running mean and variance) of a configuration, in closed form:
    a ``GraphResConfig``'s GraphRes or a ``DetectorConfig``'s detector."""
    if isinstance(config, DetectorConfig):
        backbone = parameter_counts(replace(config.backbone, num_classes=0))  # the backbone and a head of width 0
        per_cell, channels = 5 + config.num_classes, config.backbone.channels[-1]
        if config.head == "original":  # one linear layer from the 4 × 4 grid to every cell's outputs
            inputs, outputs = GRID_CELLS * GRID_CELLS * channels, per_cell * config.cells[0] * config.cells[1]
        else:  # one linear layer, shared by the cells, from a cell's 3 × 3 neighbourhood to its outputs
            inputs, outputs = 9 * channels, per_cell
        head = inputs * outputs + (outputs if config.backbone.fc_bias else 0)
        return {"trainable": backbone["trainable"] + head, "non_trainable": backbone["non_trainable"]}
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

DETECTION_HEADS = ("grid", "original")


@dataclass(frozen=True)
class DetectorConfig:
    """AEGNN's detection model: the GraphRes backbone and a YOLO grid head; a detection run's ``network`` block
    gives the backbone, its ``detection`` block the rest.

    ``head``: ``grid`` (evrepro's) max-pools the last features in each grid cell and predicts each cell's box from
    its 3 × 3 neighbourhood of cells with weights shared by all cells; ``original`` reads the classification head
    (4 × 4 grid pool and a linear layer) as the whole grid, as AEGNN's detection model did.
    """

    backbone: GraphResConfig  # its num_classes: the width of the original head (YoloGrid.outputs)
    num_classes: int
    cells: tuple[int, int] = (8, 6)
    head: str = "grid"
    coord_weight: float = 2.0
    noobj_weight: float = 0.5
    class_weight: float = 1.0
    task: str = "detection"

    def __post_init__(self):
        if self.head not in DETECTION_HEADS:
            raise ValueError(f"detection head {self.head!r} is none of {', '.join(DETECTION_HEADS)}")

    def as_dict(self) -> dict:
        return {**asdict(self), "backbone": self.backbone.as_dict()}

    @classmethod
    def from_dict(cls, values: dict) -> "DetectorConfig":
        """The configuration a model.json records."""
        return cls(**{**values, "backbone": GraphResConfig.from_dict(values["backbone"]),
                      "cells": tuple(values["cells"])})
