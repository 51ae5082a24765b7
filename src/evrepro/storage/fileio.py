"""Atomic outputs and content hashes: a killed job never leaves a file that looks finished."""

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextmanager
def atomic_output(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only if the block succeeds.

    Works for files and directories. On any exception the temporary path is removed and ``target`` is
    left as it was; temporaries left by a killed writer of the same target are removed first.
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
    except BaseException:
        _remove(temporary)
        raise


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
