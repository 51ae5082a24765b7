"""The embedded digits generator's parameters, without the generator (numba), so that the workflow can read them
while it plans."""

from dataclasses import asdict, dataclass
from typing import ClassVar


@dataclass(frozen=True)
class DigitsParams:
    """Generator parameters; the config's ``datasets.digits.generator`` block maps onto these."""

    seed: int = 0
    recordings_per_image: int = 2
    test_image_fraction: float = 0.2  # of each class's images, recorded into Test
    saccade_ms: float = 100.0
    amplitude_px: float = 5.0
    scale_range: tuple[float, float] = (0.85, 1.05)
    contrast_threshold: float = 0.36
    threshold_mismatch: float = 0.03
    refractory_us: float = 1000.0
    black_level: float = 0.1
    noise_hz_per_pixel: float = 0.3
    max_images: int | None = None

    # renamed fields keep their first names in the archive's manifest and the fetch rule's params (stored_names)
    STORED_NAMES: ClassVar[dict] = {"test_image_fraction": "test_fraction"}

    @classmethod
    def from_config(cls, block: dict) -> "DigitsParams":
        values = dict(block)
        if "scale_range" in values:
            values["scale_range"] = tuple(values["scale_range"])
        return cls(**values)

    def as_dict(self) -> dict:
        values = asdict(self)
        values["scale_range"] = list(self.scale_range)
        return values
