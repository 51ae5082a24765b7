"""Where an extracted dataset keeps its samples: a list of (split, label, sample_id, path) per layout."""

from pathlib import Path

from evrepro.datasets.registry import DatasetSpec

SPLIT_FOLDERS = {"train": "train", "test": "test"}


def nmnist_layout(raw_dir: Path, spec: DatasetSpec) -> list[tuple[str, int, str, Path]]:
    """``<anything>/Train|Test/<class>/<id>.bin`` (N-MNIST, and the embedded ``digits``)."""
    samples = []
    split_dirs = [d for d in sorted(raw_dir.rglob("*")) if d.is_dir() and d.name.lower() in SPLIT_FOLDERS]
    if not split_dirs:
        raise FileNotFoundError(f"{raw_dir}: no Train/ or Test/ folder found (N-MNIST layout)")
    for split_dir in split_dirs:
        split = SPLIT_FOLDERS[split_dir.name.lower()]
        for class_dir in sorted(d for d in split_dir.iterdir() if d.is_dir()):
            if class_dir.name not in spec.class_names:
                raise ValueError(f"{class_dir}: class folder {class_dir.name!r} is none of {list(spec.class_names)}")
            label = spec.class_names.index(class_dir.name)
            for path in sorted(class_dir.glob("*.bin")):
                samples.append((split, label, path.stem, path))
    return samples


LAYOUTS = {"nmnist": nmnist_layout}


def list_samples(raw_dir: str | Path, spec: DatasetSpec) -> list[tuple[str, int, str, Path]]:
    """All samples of an extracted dataset, in a deterministic order."""
    return LAYOUTS[spec.layout](Path(raw_dir), spec)
