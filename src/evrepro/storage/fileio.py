"""Atomic outputs and content hashes: a killed job never leaves a file that looks finished, a full disk is named."""

import errno
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evrepro.errors import DiskFull

FULL_BELOW_BYTES = 1 << 20  # a writer that fails with less free space than this failed for lack of it

def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextmanager
def atomic_output(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only if the block succeeds.

    Works for files and directories. On any exception the temporary path is removed and ``target`` is
    left as it was; temporaries left by a killed writer of the same target are removed first. A write that
    failed for lack of space (ENOSPC, or a library's own error with the disk full: torch's zip writer and HDF5
    name no errno) raises ``DiskFull`` naming ``target`` and the space left.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.tmp-*"):  # left by a killed writer
        _remove(stale)
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        yield temporary
        if temporary.is_dir() and target.exists():
            _remove(target)
        os.replace(temporary, target)
    except BaseException as error:
        free = shutil.disk_usage(target.parent).free
        _remove(temporary)
        if isinstance(error, Exception) and not isinstance(error, DiskFull) and (
                _no_space(error) or free < FULL_BELOW_BYTES):
            raise DiskFull(f"no space left on device writing {target} (free: {free / 1e6:.1f} MB); free some space "
                           f"and run again: nothing partial was left, finished results are kept") from error
        raise


def _no_space(error: BaseException) -> bool:
    """Whether ``error``, or one it was raised from, is an out-of-space OS error."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        error = error.__cause__ or error.__context__
    return False


def params_hash(params: dict) -> str:
    """Short, stable hash of JSON-serialisable parameters (key order does not matter)."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:10]


def file_digests(path: str | Path, algorithms=("sha256",), chunk_bytes: int = 1 << 20) -> dict[str, str]:
    """Hex digests of a file for each hashlib algorithm named (``sha256``, ``md5``), reading it once."""
    hashes = {name: hashlib.new(name, usedforsecurity=False) for name in algorithms}
    with open(path, "rb") as handle:
        while block := handle.read(chunk_bytes):
            for digest in hashes.values():
                digest.update(block)
    return {name: digest.hexdigest() for name, digest in hashes.items()}


def sha256_file(path: str | Path) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    return file_digests(path)["sha256"]
