"""ECN network configuration and the papers' per-dataset presets (plain data: importing this loads no tensorflow)."""

from dataclasses import asdict, dataclass

# jackd/ecn's ``inception_vox_pooling`` and ``ecn/configs/sccd/*.gin``: filters of the first level, the level
# the voxel branch starts from, and whether the output is one logit (N-CARS, binary cross-entropy). The number
# of levels comes from the stream cache (evrepro.streams.params.PRESETS), so the two cannot disagree.
PRESET_NETWORKS = {
    "nmnist": {"filters0": 32, "vox_start": 0},
    "digits": {"filters0": 32, "vox_start": 0},
    "mnist-dvs": {"filters0": 8, "vox_start": 2},
    "cifar10-dvs": {"filters0": 8, "vox_start": 2},
    "ncaltech101": {"filters0": 16, "vox_start": 2},
    "asl-dvs": {"filters0": 16, "vox_start": 2},
    "ncars": {"filters0": 16, "vox_start": 2, "binary_logit": True},
}


@dataclass(frozen=True)
class ECNConfig:
    """The vox-pool network (ECN's ``inception_vox_pooling``) for one dataset and stream cache."""

    num_classes: int
    level_shapes: tuple[tuple[int, int], ...]  # (height, width) of the input grid and of every level
    filters0: int = 8
    vox_start: int = 2
    temporal_kernel_size: int = 4
    hidden_units: tuple[int, ...] = (256,)
    dropout_rate: float = 0.5
    l2: float = 4e-5
    batchnorm_momentum: float = 0.99  # Keras' default, as ECN
    binary_logit: bool = False

    def __post_init__(self):
        if not 0 <= self.vox_start < self.num_levels:
            raise ValueError(f"vox_start must be in [0, {self.num_levels - 1}] for {self.num_levels} levels, "
                             f"got {self.vox_start}")
        if self.binary_logit and self.num_classes != 2:
            raise ValueError(f"binary_logit needs 2 classes, the dataset has {self.num_classes}")

    @property
    def num_levels(self) -> int:
        return len(self.level_shapes) - 1

    @property
    def voxel_levels(self) -> list[int]:
        return list(range(self.vox_start, self.num_levels))

    def filters(self, level: int) -> int:
        return self.filters0 * 2**level

    def frames(self, level: int) -> int:
        return 2 ** (self.num_levels - 1 - level)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ECNConfig":
        """The configuration a model.json records (lists back to tuples)."""
        return cls(**{**values, "level_shapes": tuple(tuple(shape) for shape in values["level_shapes"]),
                      "hidden_units": tuple(values["hidden_units"])})


def network_options(network_block: dict) -> dict:
    """ECNConfig options of a run's ``network`` block: the preset's values with the block's overrides."""
    block = dict(network_block)
    options = {**PRESET_NETWORKS[block.pop("preset")], **block}
    if "hidden_units" in options:
        options["hidden_units"] = tuple(options["hidden_units"])
    return options
