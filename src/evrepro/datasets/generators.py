"""The embedded datasets' generators, as plain data: what the workflow reads while it plans (the parameters) and
what the fetch job imports to write the archive (the module, with numba)."""

import importlib
from dataclasses import dataclass

from evrepro.datasets.digits_params import DigitsParams
from evrepro.datasets.traffic_params import TrafficParams


@dataclass(frozen=True)
class Generator:
    """An embedded dataset's generator: its parameters' type, the module whose ``write_archive(path, params,
    progress)`` writes the archive, and the archive's name."""

    params_type: type
    module: str
    archive: str

    def params(self, block: dict):
        """The parameters of the config's ``generator`` block."""
        return self.params_type.from_config(block)

    def write_archive(self, path, params, progress: bool = True) -> int:
        """Write the archive to ``path``; returns how many recordings it holds."""
        return importlib.import_module(self.module).write_archive(path, params, progress)


GENERATORS = {
    "digits": Generator(DigitsParams, "evrepro.datasets.digits", "digits.zip"),
    "traffic": Generator(TrafficParams, "evrepro.datasets.traffic", "traffic.zip"),
}
