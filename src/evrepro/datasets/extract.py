"""Unpack downloaded archives, including archives nested inside them (N-MNIST's Train.zip/Test.zip)."""

import logging
import tarfile
import zipfile
from pathlib import Path

from tqdm import tqdm

from evrepro.fileio import atomic_output

log = logging.getLogger(__name__)


def _check_member(archive: Path, name: str) -> None:
    parts = Path(name).parts
    if Path(name).is_absolute() or ".." in parts:
        raise ValueError(f"{archive}: member {name!r} would be written outside the extraction folder")


def unpack(archive: Path, destination: Path, progress: bool = True) -> None:
    """Unpack one zip or tar archive into ``destination``."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as handle:
            members = handle.infolist()
            for member in tqdm(members, desc=f"extract {archive.name}", disable=not progress, mininterval=2):
                _check_member(archive, member.filename)
                handle.extract(member, destination)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as handle:
            handle.extractall(destination, filter="data")
    else:
        raise ValueError(f"{archive}: neither a zip nor a tar archive")


def extract_all(archives: list[Path], destination: str | Path, progress: bool = True) -> None:
    """Unpack ``archives`` and every archive found inside them into ``destination``, atomically."""
    with atomic_output(destination) as temporary:
        temporary.mkdir(parents=True)
        for archive in archives:
            unpack(Path(archive), temporary, progress)
        while nested := sorted(p for p in temporary.rglob("*") if p.suffix in {".zip", ".tar", ".gz"} and p.is_file()):
            for inner in nested:
                log.info("unpacking nested archive %s", inner.relative_to(temporary))
                unpack(inner, inner.parent, progress)
                inner.unlink()
