"""Every dataset evrepro knows: sensor, classes, archives (URL, size, SHA-256, date verified), layout.

Adding a dataset is an entry here plus, when its bytes are new, a reader in ``evrepro.events`` and
a layout in ``evrepro.datasets.layouts``.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Archive:
    """One downloadable file and what it must be."""

    filename: str
    urls: tuple[str, ...]
    size: int | None
    sha256: str | None
    verified: str  # date the size and hash were last recorded upstream


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: how to obtain it, how its extracted files are laid out, and what they mean."""

    name: str
    title: str
    sensor_size: tuple[int, int]  # (width, height)
    class_names: tuple[str, ...]
    layout: str
    archives: tuple[Archive, ...] = ()
    generator: str | None = None  # an embedded dataset is generated, not downloaded
    licence: str = ""
    citation: str = ""
    notes: tuple[str, ...] = field(default=())


DIGIT_NAMES = tuple(str(digit) for digit in range(10))

REGISTRY: dict[str, DatasetSpec] = {
    "digits": DatasetSpec(
        name="digits",
        title="digits: scikit-learn's handwritten digits recorded like N-MNIST (embedded, generated)",
        sensor_size=(34, 34),
        class_names=DIGIT_NAMES,
        layout="nmnist",
        generator="digits",
        licence="BSD-3-Clause (scikit-learn's bundled UCI digits)",
        citation="Alpaydin & Kaynak, UCI Optical Recognition of Handwritten Digits; simulated by evrepro",
    ),
    "nmnist": DatasetSpec(
        name="nmnist",
        title="N-MNIST (Orchard et al. 2015)",
        sensor_size=(34, 34),
        class_names=DIGIT_NAMES,
        layout="nmnist",
        archives=(
            Archive(
                filename="468j46mzdv-1.zip",
                urls=("https://prod-dcd-datasets-cache-zipfiles.s3.eu-west-1.amazonaws.com/468j46mzdv-1.zip",),
                size=1_178_661_068,
                sha256="e6964c15ef4013c91127790ea570d46200778262b9f5f8acd5c1366099d8e351",
                verified="2024-02-12",
            ),
        ),
        licence="CC BY 4.0",
        citation="Orchard, Jayawant, Cohen, Thakor. Converting static image datasets to spiking neuromorphic "
        "datasets using saccades. Frontiers in Neuroscience, 2015.",
        notes=("The Mendeley zip holds one folder with Train.zip and Test.zip; extraction unpacks both.",),
    ),
}


def get_dataset(name: str) -> DatasetSpec:
    """The registry entry for ``name``; the error lists the known names."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(sorted(REGISTRY))}") from None
