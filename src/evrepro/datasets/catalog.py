"""``python -m evrepro datasets``: the registry as a table, and one dataset in full."""

from evrepro.datasets.registry import REGISTRY, DatasetSpec


def _splits(spec: DatasetSpec) -> str:
    official = [split for split in ("train", "val", "test") if split in spec.official_splits]
    derived = [split for split in ("train", "val", "test") if split not in spec.official_splits]
    return "/".join(official) + (" + derived " + "/".join(derived) if derived else "") if official else \
        "derived train/val/test"


def _checksum(spec: DatasetSpec) -> str:
    if spec.generator:
        return "-"
    if not spec.archives:
        return "none published"
    kinds = {"sha256" if archive.sha256 else "md5" if archive.md5 else "none" for archive in spec.archives}
    return "+".join(sorted(kinds))


def registry_rows() -> list[dict]:
    """One row per dataset: name, sensor, classes, splits, download size, checksum kind, how to obtain."""
    return [{
        "dataset": spec.name,
        "task": spec.task,
        "sensor": f"{spec.sensor_size[0]}x{spec.sensor_size[1]}",
        "classes": len(spec.class_names) - len(spec.unused_classes),
        "splits": _splits(spec),
        "download_GB": round(sum(archive.size or 0 for archive in spec.archives) / 1e9, 2),
        "checksum": _checksum(spec),
        "orientation": "+".join(spec.orientation) or "as recorded",
        "obtain": "manual (registration)" if spec.manual else "generated" if spec.generator else "automatic",
    } for spec in REGISTRY.values()]


def describe(spec: DatasetSpec) -> str:
    """Everything the registry says about one dataset, as text."""
    lines = [spec.title, f"  citation: {spec.citation}", f"  licence: {spec.licence}",
             f"  sensor: {spec.sensor_size[0]} x {spec.sensor_size[1]} (width x height); task: {spec.task}",
             f"  classes ({len(spec.class_names)}, label = index): {', '.join(spec.class_names)}"]
    if spec.unused_classes:
        lines.append(f"  never in the data: {', '.join(spec.unused_classes)}")
    lines += [f"  splits: {_splits(spec)}", f"  orientation fixes: {', '.join(spec.orientation) or 'none'}",
              f"  obtain: {spec.how_to_obtain()}"]
    for archive in spec.archives:
        checksum = f"sha256 {archive.sha256}" if archive.sha256 else f"md5 {archive.md5}"
        size = f"{archive.size:,} bytes" if archive.size else "size unknown"
        lines.append(f"  archive {archive.filename}: {size}, {checksum} (recorded {archive.verified})")
        lines += [f"    {url}" for url in archive.urls]
    lines += [f"  note: {note}" for note in spec.notes]
    return "\n".join(lines)
