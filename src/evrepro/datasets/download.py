"""Resumable, checksummed HTTP downloads.

A download writes to ``<target>.part`` and continues it with an HTTP Range request when restarted.
Only a file whose size and SHA-256 match the registry is renamed onto ``target``. A transfer that
stops short of the size the server announced is kept and resumed by the next attempt; a file the
server delivered whole but of the wrong size or checksum is a different file: it is set aside as
``<target>.rejected-<sha256 prefix>`` (never resumed, never deleted) and the error names the URL,
the expected and the received values.
"""

import http.client
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from evrepro.datasets.registry import Archive
from evrepro.errors import EvreproError, is_expected
from evrepro.fileio import sha256_file

log = logging.getLogger(__name__)
CHUNK_BYTES = 1 << 20


class DownloadError(EvreproError):
    """No URL produced a file with the expected size and checksum."""


def _resume_request(url: str, offset: int) -> urllib.request.Request:
    headers = {"User-Agent": "evrepro"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.Request(url, headers=headers)


def _announced_size(response, offset: int) -> int | None:
    """The size of the whole file as the server states it (Content-Range total or Content-Length)."""
    if response.status == 206:
        total = (response.headers.get("Content-Range") or "").rpartition("/")[2]
        return int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length")
    return offset + int(length) if length is not None else None


def _fetch_into(url: str, part: Path, timeout: float, progress: bool) -> int | None:
    """Append the rest of ``url`` to ``part`` (restarting if the server ignores the Range).

    Returns the size of the file on the server, when the server says it.
    """
    offset = part.stat().st_size if part.exists() else 0
    try:
        response = urllib.request.urlopen(_resume_request(url, offset), timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # range not satisfiable: the part file already holds the server's file
            total = (error.headers.get("Content-Range") or "").rpartition("/")[2]
            return int(total) if total.isdigit() else offset
        raise
    with response:
        if offset and response.status != 206:
            log.info("%s ignored the range request; restarting from byte 0", url)
            offset = 0
        total = _announced_size(response, offset)
        with open(part, "ab" if offset else "wb") as out, tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, desc=part.name, disable=not progress,
            mininterval=2,
        ) as bar:
            while block := response.read(CHUNK_BYTES):
                out.write(block)
                bar.update(len(block))
    return total


def _set_aside(part: Path, digest: str, archive: Archive) -> Path:
    """Move a wrong file out of the way, keeping it for inspection; returns where it went."""
    rejected = part.with_name(f"{archive.filename}.rejected-{digest[:12]}")
    os.replace(part, rejected)
    return rejected


def _check(url: str, part: Path, announced: int | None, archive: Archive) -> str | None:
    """None when ``part`` is the archive; otherwise what is wrong (a wrong file is set aside)."""
    size = part.stat().st_size
    if archive.size is not None and size < archive.size and (announced is None or size < announced):
        told = f"the server announced {announced:,}" if announced is not None else "the server gave no size"
        return f"{url}: transfer stopped at {size:,} of {archive.size:,} bytes ({told}); a rerun resumes it"
    digest = sha256_file(part)
    if archive.size is not None and size != archive.size:
        rejected = _set_aside(part, digest, archive)
        return (f"{url}: serves a complete file of {size:,} bytes, expected {archive.size:,}: a different file "
                f"(sha256 {digest}); set aside as {rejected.name}")
    if archive.sha256 is not None and digest != archive.sha256:
        rejected = _set_aside(part, digest, archive)
        return (f"{url}: sha256 {digest}, expected {archive.sha256} (recorded {archive.verified}); "
                f"set aside as {rejected.name}")
    return None


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
            announced = _fetch_into(url, part, timeout, progress)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            if is_expected(error):  # a full disk or an unwritable folder is not the server's fault
                raise
            failures.append(f"{url}: {error!r}" if not str(error) else f"{url}: {error}")
            continue  # the part file is kept: the next URL (or the next run) resumes it
        problem = _check(url, part, announced, archive)
        if problem is None:
            os.replace(part, target)
            return target
        failures.append(problem)
    raise DownloadError(f"could not download {archive.filename}: " + "; ".join(failures))
