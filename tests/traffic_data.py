"""The embedded detection set built through the real data stages, for the tests that need its recordings store."""

from pathlib import Path

from evrepro.datasets import stages


def build_traffic(root, generator: dict) -> Path:
    """fetch -> extract -> events of ``traffic`` with ``generator`` into ``root``: raw/ and traffic.h5; returns root."""
    root = Path(root)
    config = {"generator": generator, "val_fraction": 0.1, "split_seed": 0}
    manifest = stages.fetch("traffic", config, root / "archives/manifest.json", progress=False)
    stages.extract(manifest, root / "raw", progress=False)
    stages.build_events("traffic", config, manifest, root / "raw", root / "traffic.h5", root / "traffic.splits.json",
                        progress=False)
    return root
