"""``datasets.<name>.root``: use a copy the user already has, archives or extracted, without copying it.

A folder holding every archive of the dataset (found by file name anywhere below it) is checked
against the registry's sizes and checksums and used in place. Any other folder is taken as an
extracted copy: nothing is unpacked, the events stage reads it where it is, and the fetch manifest
records a digest of its listing (relative paths and sizes) so a changed copy shows up as a new input.
"""

import hashlib
from pathlib import Path

from evrepro.datasets.download import checksum_mismatch
from evrepro.datasets.registry import Archive, DatasetSpec
from evrepro.errors import EvreproError

LOCAL_COPY_NOTE = "LOCAL_COPY.json"  # what the extract stage leaves in the raw folder of an extracted copy


class LocalCopyError(EvreproError):
    """A configured local copy is missing, incomplete or not the registry's bytes."""


def check_local_archive(path: Path, archive: Archive) -> None:
    """Refuse a local archive whose size or checksum differs from the registry's (the file is left alone)."""
    size = path.stat().st_size
    if archive.size is not None and size != archive.size:
        raise LocalCopyError(f"{path}: {size:,} bytes, but {archive.filename} has {archive.size:,} "
                             f"(recorded {archive.verified}): not the registry's archive")
    _, mismatch = checksum_mismatch(path, archive)  # the same check as a download's
    if mismatch:
        raise LocalCopyError(f"{path}: {mismatch}")


def listing_digest(root: Path) -> str:
    """SHA-256 over every file's relative path and size below ``root``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(root).as_posix()}\t{path.stat().st_size}\n".encode())
    return digest.hexdigest()


def find_local_copy(spec: DatasetSpec, root: Path) -> tuple[list[Path], Path | None]:
    """(archives to use in place, []) or ([], the extracted folder) for the copy at ``root``."""
    if not root.is_dir():
        raise LocalCopyError(f"config datasets.{spec.name}.root: {root} is not a folder")
    found = {archive.filename: next(iter(sorted(root.rglob(archive.filename))), None) for archive in spec.archives}
    present = [name for name, path in found.items() if path is not None]
    if not present:
        return [], root.resolve()
    if len(present) < len(spec.archives):
        missing = [name for name, path in found.items() if path is None]
        raise LocalCopyError(f"{root}: holds {len(present)} of the {len(spec.archives)} archives of {spec.name}; "
                             f"missing: {', '.join(missing)}")
    for archive in spec.archives:
        check_local_archive(found[archive.filename], archive)
    return [found[archive.filename] for archive in spec.archives], None
