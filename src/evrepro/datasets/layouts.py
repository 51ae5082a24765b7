"""Where an extracted dataset keeps its samples, per release layout.

Each layout lists ``RawSample(split, label, sample_id, path)`` in a deterministic order (sorted
paths). ``split`` is the release's own split, or None where the release has none (the events stage
derives it). Sample ids are unique within a split; where file names repeat across classes the id
is ``<class>/<file stem>``. A folder in the place of a class folder that names no known class stops
the listing, naming the folder and the class list.
"""

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from evrepro.datasets.registry import DatasetSpec
from evrepro.errors import EvreproError

SPLIT_FOLDERS = {"train": "train", "test": "test"}
EVENT_SUFFIXES = {".bin", ".dat", ".aedat", ".mat"}


class LayoutError(EvreproError):
    """The extracted files do not have the layout of the dataset's release."""


class RawSample(NamedTuple):
    split: str | None
    label: int
    sample_id: str
    path: Path
    annotation: Path | None = None  # N-Caltech101: the sample's box and contour file


def _folders(root: Path) -> list[Path]:
    return sorted(d for d in root.rglob("*") if d.is_dir())


def _event_files(folder: Path, suffixes=EVENT_SUFFIXES) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def _unknown_class(folder: Path, name: str, spec: DatasetSpec) -> LayoutError:
    return LayoutError(f"{folder}: class folder {name!r} is none of the {len(spec.class_names)} classes of "
                       f"{spec.name} ({', '.join(spec.class_names)})")


def nmnist_layout(raw_dir: Path, spec: DatasetSpec, options: dict) -> list[RawSample]:
    """``<anything>/Train|Test/<class>/<id>.bin`` (N-MNIST, and the embedded ``digits``)."""
    samples = []
    split_dirs = [d for d in _folders(raw_dir) if d.name.lower() in SPLIT_FOLDERS]
    if not split_dirs:
        raise LayoutError(f"{raw_dir}: no Train/ or Test/ folder found (N-MNIST layout)")
    for split_dir in split_dirs:
        split = SPLIT_FOLDERS[split_dir.name.lower()]
        for class_dir in sorted(d for d in split_dir.iterdir() if d.is_dir()):
            if class_dir.name not in spec.class_names:
                raise _unknown_class(class_dir, class_dir.name, spec)
            label = spec.class_names.index(class_dir.name)
            samples += [RawSample(split, label, path.stem, path) for path in sorted(class_dir.glob("*.bin"))]
    return samples


def ncaltech101_layout(raw_dir: Path, spec: DatasetSpec, options: dict) -> list[RawSample]:
    """``Caltech101/<Class>/image_NNNN.bin`` with ``Caltech101_annotations/<Class>/annotation_NNNN.bin`` where the
    copy has them; the class is the folder name lower-cased (events-tfds' labels)."""
    folders = _folders(raw_dir)
    roots = [d for d in folders if d.name == "Caltech101"]
    if not roots:
        raise LayoutError(f"{raw_dir}: no Caltech101/ folder found (N-Caltech101 layout)")
    annotations = {d.name.lower(): d for root in folders if root.name == "Caltech101_annotations"
                   for d in root.iterdir() if d.is_dir()}
    samples = []
    for class_dir in sorted(d for d in roots[0].iterdir() if d.is_dir()):
        name = class_dir.name.lower()
        if name not in spec.class_names:
            raise _unknown_class(class_dir, class_dir.name, spec)
        label = spec.class_names.index(name)
        for path in _event_files(class_dir, {".bin"}):
            number = path.stem.rpartition("_")[2]
            annotation = annotations[name] / f"annotation_{number}.bin" if name in annotations else None
            samples.append(RawSample(None, label, f"{name}/{path.stem}", path,
                                     annotation if annotation is not None and annotation.exists() else None))
    return samples


NCARS_FOLDERS = {"cars": "car", "background": "background"}


def ncars_layout(raw_dir: Path, spec: DatasetSpec, options: dict) -> list[RawSample]:
    """``n-cars_train|n-cars_test/{cars,background}/obj_NNNNNN_td.dat`` (any folder naming train or test)."""
    samples = []
    for split_dir in _folders(raw_dir):
        split = next((s for s in SPLIT_FOLDERS if s in split_dir.name.lower()), None)
        subfolders = [d for d in split_dir.iterdir() if d.is_dir()] if split else []
        if not any(d.name in NCARS_FOLDERS for d in subfolders):
            continue
        for class_dir in sorted(subfolders):
            if class_dir.name not in NCARS_FOLDERS:
                raise _unknown_class(class_dir, class_dir.name, spec)
            label = spec.class_names.index(NCARS_FOLDERS[class_dir.name])
            samples += [RawSample(split, label, f"{class_dir.name}/{path.stem}", path)
                        for path in _event_files(class_dir, {".dat"})]
    if not samples:
        raise LayoutError(f"{raw_dir}: no train or test folder holding cars/ and background/ (N-CARS layout)")
    return samples


def by_class_folder_layout(raw_dir: Path, spec: DatasetSpec, options: dict) -> list[RawSample]:
    """``<class>/<file>`` anywhere below the root (CIFAR10-DVS's ``airplane/``, ASL-DVS's ``a/``)."""
    class_dirs = [d for d in _folders(raw_dir) if d.name.lower() in spec.class_names and _event_files(d)]
    if not class_dirs:
        raise LayoutError(f"{raw_dir}: no folder named after a class of {spec.name} holds event files")
    for parent in sorted({d.parent for d in class_dirs}):
        for sibling in sorted(d for d in parent.iterdir() if d.is_dir() and d not in class_dirs):
            if _event_files(sibling):
                raise _unknown_class(sibling, sibling.name, spec)
    samples = []
    for class_dir in sorted(class_dirs):
        name = class_dir.name.lower()
        label = spec.class_names.index(name)
        samples += [RawSample(None, label, f"{name}/{path.stem}", path) for path in _event_files(class_dir)]
    return samples


def mnist_dvs_layout(raw_dir: Path, spec: DatasetSpec, options: dict) -> list[RawSample]:
    """``grabbed_data<d>/scale<s>/*.aedat``, one scale (``options["scale"]``: 4, 8 or 16)."""
    scale = int(options.get("scale", 16))
    samples = []
    for digit_dir in (d for d in _folders(raw_dir) if d.name.startswith("grabbed_data")):
        digit = digit_dir.name.removeprefix("grabbed_data")
        if digit not in spec.class_names:
            raise _unknown_class(digit_dir, digit, spec)
        for scale_dir in (d for d in digit_dir.iterdir() if d.is_dir() and d.name.startswith("scale")):
            if int(scale_dir.name.removeprefix("scale")) == scale:
                samples += [RawSample(None, int(digit), path.stem, path)
                            for path in _event_files(scale_dir, {".aedat"})]
    if not samples:
        raise LayoutError(f"{raw_dir}: no grabbed_data<d>/scale{scale}/*.aedat files (MNIST-DVS layout)")
    return sorted(samples, key=lambda s: s.path)


def gen1_layout(raw_dir: Path, spec: DatasetSpec, options: dict) -> list[RawSample]:
    """``train|val|test/<recording>_td.dat`` beside ``<recording>_bbox.npy`` (label -1: boxes are the labels)."""
    samples = []
    for split_dir in (d for d in _folders(raw_dir) if d.name in spec.official_splits):
        for path in sorted(split_dir.glob("*_td.dat")):
            boxes = path.with_name(path.name.removesuffix("_td.dat") + "_bbox.npy")
            if not boxes.exists():
                raise LayoutError(f"{path}: no {boxes.name} beside it (Gen1 layout)")
            samples.append(RawSample(split_dir.name, -1, path.name.removesuffix("_td.dat"), path))
    if not samples:
        raise LayoutError(f"{raw_dir}: no train/, val/ or test/ folder of *_td.dat recordings (Gen1 layout)")
    return samples


LAYOUTS: dict[str, Callable[[Path, DatasetSpec, dict], list[RawSample]]] = {
    "nmnist": nmnist_layout,
    "ncaltech101": ncaltech101_layout,
    "ncars": ncars_layout,
    "by_class_folder": by_class_folder_layout,
    "mnist_dvs": mnist_dvs_layout,
    "gen1": gen1_layout,
}


def list_samples(raw_dir: str | Path, spec: DatasetSpec, options: dict | None = None) -> list[RawSample]:
    """All samples of an extracted dataset, in a deterministic order; ids checked unique per split."""
    samples = LAYOUTS[spec.layout](Path(raw_dir), spec, options or {})
    seen: dict[tuple, Path] = {}
    for sample in samples:
        key = (sample.split, sample.sample_id)
        if key in seen:
            raise LayoutError(f"{sample.path}: sample id {sample.sample_id!r} is also {seen[key]}")
        seen[key] = sample.path
    return samples
