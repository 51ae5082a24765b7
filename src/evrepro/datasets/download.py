"""Resumable, checksummed HTTP downloads.

A download writes to ``<target>.part`` and continues it with an HTTP Range request when restarted.
Only a file whose size and SHA-256 match the registry is renamed onto ``target``; a mismatching one
is removed and the error names the URL, the expected and the received values.
"""

import http.client
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from evrepro.datasets.registry import Archive
from evrepro.fileio import sha256_file

log = logging.getLogger(__name__)
CHUNK_BYTES = 1 << 20


class DownloadError(RuntimeError):
    """No URL produced a file with the expected size and checksum."""


def _resume_request(url: str, offset: int) -> urllib.request.Request:
    headers = {"User-Agent": "evrepro"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.Request(url, headers=headers)


def _fetch_into(url: str, part: Path, timeout: float, progress: bool) -> None:
    """Append the rest of ``url`` to ``part`` (restarting if the server ignores the Range)."""
    offset = part.stat().st_size if part.exists() else 0
    try:
        response = urllib.request.urlopen(_resume_request(url, offset), timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # range not satisfiable: the part file is already whole
            return
        raise
    with response:
        if offset and response.status != 206:
            log.info("%s ignored the range request; restarting from byte 0", url)
            offset = 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        with open(part, "ab" if offset else "wb") as out, tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, desc=part.name, disable=not progress,
            mininterval=2,
        ) as bar:
            while block := response.read(CHUNK_BYTES):
                out.write(block)
                bar.update(len(block))


def download(archive: Archive, directory: str | Path, urls: tuple[str, ...] | None = None,
             timeout: float = 60.0, progress: bool = True) -> Path:
    """Download ``archive`` into ``directory`` from the first URL that works; return the verified path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / archive.filename
    part = directory / f"{archive.filename}.part"
    if target.exists():
        return target
    failures = []
    for url in urls or archive.urls:
        try:
            _fetch_into(url, part, timeout, progress)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            failures.append(f"{url}: {error!r}" if not str(error) else f"{url}: {error}")
            continue  # the part file is kept: the next URL (or the next run) resumes it
        size = part.stat().st_size
        if archive.size is not None and size < archive.size:
            failures.append(f"{url}: transfer ended at {size} of {archive.size} bytes; a rerun resumes it")
            continue
        if archive.size is not None and size > archive.size:
            failures.append(f"{url}: {size} bytes, expected {archive.size}")
            os.remove(part)
            continue
        digest = sha256_file(part)
        if archive.sha256 is not None and digest != archive.sha256:
            failures.append(f"{url}: sha256 {digest}, expected {archive.sha256} (recorded {archive.verified})")
            os.remove(part)
            continue
        os.replace(part, target)
        return target
    raise DownloadError(f"could not download {archive.filename}:\n  " + "\n  ".join(failures))
