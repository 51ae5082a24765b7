"""Unpack downloaded archives, including archives nested inside them (N-MNIST's Train.zip/Test.zip).

Archives are checked against their fetch manifest (size, SHA-256) before anything is unpacked, and a
member that fails to decompress is reported with the archive that holds it.
"""

import logging
import tarfile
import zipfile
import zlib
from pathlib import Path

from tqdm import tqdm

from evrepro.errors import EvreproError
from evrepro.storage.fileio import atomic_output, sha256_file

log = logging.getLogger(__name__)
DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, tarfile.TarError)


class ArchiveError(EvreproError):
    """An archive does not match its manifest, or one of its members cannot be unpacked."""


def check_archive(path: Path, size: int, sha256: str, manifest: Path) -> None:
    """Refuse an archive whose size or SHA-256 differs from what ``manifest`` recorded when it was fetched."""
    redo = f"delete it and {manifest}, then run again to fetch it anew"
    if not path.exists():
        raise ArchiveError(f"{path}: missing, but {manifest} lists it; {redo}")
    actual = path.stat().st_size
    if actual != size:
        raise ArchiveError(f"{path}: {actual:,} bytes, but {manifest} recorded {size:,} when it was fetched "
                           f"(truncated or replaced since); {redo}")
    digest = sha256_file(path)
    if digest != sha256:
        raise ArchiveError(f"{path}: sha256 {digest}, but {manifest} recorded {sha256} when it was fetched "
                           f"(changed since); {redo}")


def _check_member(label: str, name: str) -> None:
    parts = Path(name).parts
    if Path(name).is_absolute() or ".." in parts:
        raise ArchiveError(f"{label}: member {name!r} would be written outside the extraction folder")


def unpack(archive: Path, destination: Path, progress: bool = True, label: str | None = None) -> None:
    """Unpack one zip or tar archive into ``destination``; errors name it as ``label`` (default: its path)."""
    label = label or str(archive)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as handle:
            for member in tqdm(handle.infolist(), desc=f"extract {archive.name}", disable=not progress,
                               mininterval=2):
                _check_member(label, member.filename)
                try:
                    handle.extract(member, destination)
                except DAMAGED as error:
                    raise ArchiveError(f"{label}: member {member.filename!r} is damaged ({error})") from error
    elif tarfile.is_tarfile(archive):
        done = None
        try:
            with tarfile.open(archive) as handle:
                for member in handle:
                    try:
                        handle.extract(member, destination, filter="data")
                    except DAMAGED as error:
                        raise ArchiveError(f"{label}: member {member.name!r} is damaged ({error})") from error
                    done = member
        except tarfile.FilterError as error:
            raise ArchiveError(f"{label}: {error}") from error
        except DAMAGED as error:  # reading the next member's header
            where = f"after member {done.name!r}" if done is not None else "at its start"
            raise ArchiveError(f"{label}: damaged {where} ({error})") from error
    else:
        raise ArchiveError(f"{label}: neither a zip nor a tar archive ({archive.stat().st_size:,} bytes)")


def extract_all(archives: list[Path], destination: str | Path, progress: bool = True) -> None:
    """Unpack ``archives`` and every archive found inside them into ``destination``, atomically."""
    with atomic_output(destination) as temporary:
        temporary.mkdir(parents=True)
        for archive in archives:
            archive = Path(archive)
            before = set(temporary.rglob("*"))
            unpack(archive, temporary, progress)
            nested = [p for p in set(temporary.rglob("*")) - before if _is_archive(p)]
            while nested:
                found = []
                for inner in sorted(nested):
                    relative = inner.relative_to(temporary)
                    log.info("unpacking nested archive %s", relative)
                    into = _nested_destination(inner)
                    before = set(into.rglob("*"))
                    unpack(inner, into, progress, label=f"{archive} > {relative}")
                    inner.unlink()
                    found += [p for p in set(into.rglob("*")) - before if _is_archive(p)]
                nested = found


def _is_archive(path: Path) -> bool:
    return path.suffix in {".zip", ".tar", ".gz"} and path.is_file()


def _member_names(archive: Path) -> list[str]:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as handle:
            return handle.namelist()
    with tarfile.open(archive) as handle:
        return handle.getnames()


def _nested_destination(inner: Path) -> Path:
    """Where a nested archive unpacks: beside it when all its members share one top folder (N-MNIST's
    Train.zip holds Train/), otherwise into a folder named after it, so that sibling archives whose
    members have no folder of their own (N-CARS's train and test zips) cannot mix."""
    try:
        names = _member_names(inner)
    except DAMAGED:
        return inner.parent  # unpack() reports the damage, naming the archive
    stripped = [name.strip("/") for name in names]
    if len({name.split("/", 1)[0] for name in stripped}) == 1 and any("/" in name for name in stripped):
        return inner.parent  # one top folder (a file cannot also hold members)
    folder = inner.parent / inner.name.split(".", 1)[0]
    folder.mkdir(exist_ok=True)
    return folder
