"""The embedded traffic generator's parameters, without the generator (numba), so that the workflow can read them
while it plans."""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class TrafficParams:
    """Generator parameters; the config's ``datasets.traffic.generator`` block maps onto these."""

    seed: int = 0
    train_recordings: int = 48
    val_recordings: int = 8
    test_recordings: int = 8
    duration_ms: float = 1500.0
    label_every_ms: float = 100.0  # boxes labelled at 100, 200, ... ms (Gen1 labels at 1-4 Hz)
    objects_per_recording: tuple[int, int] = (2, 4)  # drawn uniformly, both ends included
    pedestrian_fraction: float = 0.4
    contrast_threshold: float = 0.25
    threshold_mismatch: float = 0.03
    refractory_us: float = 1000.0
    noise_hz_per_pixel: float = 0.2

    @classmethod
    def from_config(cls, block: dict) -> "TrafficParams":
        values = dict(block)
        if "objects_per_recording" in values:
            values["objects_per_recording"] = tuple(values["objects_per_recording"])
        return cls(**values)

    def as_dict(self) -> dict:
        values = asdict(self)
        values["objects_per_recording"] = list(self.objects_per_recording)
        return values

    def recordings(self) -> dict[str, int]:
        """Recordings per split folder of the archive."""
        return {"train": self.train_recordings, "val": self.val_recordings, "test": self.test_recordings}
