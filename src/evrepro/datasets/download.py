"""Resumable, checksummed HTTP downloads, retried with back-off, falling back across mirrors.

The policy:

* A download writes to ``<target>.part``; every attempt continues it with an HTTP Range request. A
  server that ignores the Range sends the whole file again, which replaces the part file.
* Mirrors are tried in order (the registry lists them newest first). Each gets up to ``attempts``
  attempts. Transient failures are retried after ``backoff_s``, doubling each time, or after the
  server's ``Retry-After`` seconds (at most ``MAX_RETRY_AFTER_S``): a refused or reset connection, a
  timeout (``timeout`` applies to every read, so a server that stalls mid-transfer times out), HTTP
  408, 429 and 5xx, and a transfer that stopped short, whose part file the retry resumes. Permanent
  failures move on to the next mirror at once: any other HTTP error (404, 403, 410, ...) or network
  error, and a complete file that is not the archive.
* Only a file whose size and checksum match the registry is renamed onto ``target``: SHA-256, or MD5
  where that is all that was ever published (the digests are computed in one pass). A complete wrong
  file is set aside as ``<target>.rejected-<sha256 prefix>`` (never resumed, never deleted) and the
  error gives the expected and the received values.
* When no mirror works, the error lists every URL tried with its last failure and the number of
  attempts it got. A full disk or an unwritable folder is raised at once: it is no server's fault.
"""

import http.client
import logging
import os
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from evrepro.datasets.registry import Archive
from evrepro.errors import EvreproError, is_expected
from evrepro.storage.fileio import file_digests

log = logging.getLogger(__name__)
CHUNK_BYTES = 1 << 20
TRANSIENT_STATUSES = frozenset({408, 429, *range(500, 600)})
MAX_RETRY_AFTER_S = 300.0


class DownloadError(EvreproError):
    """No URL produced a file with the expected size and checksum."""


@dataclass(frozen=True)
class _Failure:
    """Why one attempt at a URL failed, and whether another attempt at it may succeed."""

    message: str
    transient: bool
    retry_after_s: float | None = None


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

    Every byte received is written before the next read, so a transfer that fails midway leaves
    ``part`` holding exactly what arrived. Returns the size of the file on the server, when it says.
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
            while block := response.read1(CHUNK_BYTES):
                out.write(block)
                bar.update(len(block))
    return total


def _retry_after_s(headers) -> float | None:
    """The server's Retry-After in seconds (capped), when it gives one as a number of seconds."""
    value = (headers.get("Retry-After") or "").strip()
    return min(float(value), MAX_RETRY_AFTER_S) if value.isdigit() else None


def _network_failure(error: OSError | http.client.HTTPException, timeout: float) -> _Failure:
    """Describe a failed connection or read; refused, reset, timed out and cut off are transient."""
    cause = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(cause, TimeoutError):
        return _Failure(f"timed out (no data for {timeout:g} s)", transient=True)
    temporary_dns = isinstance(cause, socket.gaierror) and cause.errno == socket.EAI_AGAIN
    transient = temporary_dns or isinstance(cause, (ConnectionError, http.client.HTTPException))
    return _Failure(str(cause) or repr(cause), transient)


def _set_aside(part: Path, sha256: str, archive: Archive) -> Path:
    """Move a wrong file out of the way, keeping it for inspection; returns where it went."""
    rejected = part.with_name(f"{archive.filename}.rejected-{sha256[:12]}")
    os.replace(part, rejected)
    return rejected


def _check(part: Path, announced: int | None, archive: Archive) -> _Failure | None:
    """None when ``part`` is the archive; otherwise what is wrong (a wrong file is set aside)."""
    size = part.stat().st_size
    if archive.size is not None and size < archive.size and (announced is None or size < announced):
        told = f"the server announced {announced:,}" if announced is not None else "the server gave no size"
        return _Failure(f"transfer stopped at {size:,} of {archive.size:,} bytes ({told}); a rerun resumes it",
                        transient=True)
    if not archive.sha256 and not archive.md5:
        log.warning("%s has no published checksum: verified by its size only", archive.filename)
    sha256, mismatch = checksum_mismatch(part, archive)
    if archive.size is not None and size != archive.size:
        rejected = _set_aside(part, sha256, archive)
        return _Failure(f"serves a complete file of {size:,} bytes, expected {archive.size:,}: a different file "
                        f"(sha256 {sha256}); set aside as {rejected.name}", transient=False)
    if mismatch:
        rejected = _set_aside(part, sha256, archive)
        return _Failure(f"{mismatch}; set aside as {rejected.name}", transient=False)
    return None


def checksum_mismatch(path: Path, archive: Archive) -> tuple[str, str | None]:
    """(the file's SHA-256, and "<algorithm> <actual>, expected <published> (recorded <date>)" for the first
    published checksum it fails, or None), reading the file once."""
    published = {name: value for name, value in (("sha256", archive.sha256), ("md5", archive.md5)) if value}
    digests = file_digests(path, {"sha256", *published})
    for name, expected in published.items():
        if digests[name] != expected.lower():
            return digests["sha256"], f"{name} {digests[name]}, expected {expected} (recorded {archive.verified})"
    return digests["sha256"], None


def _attempt(url: str, part: Path, archive: Archive, timeout: float, progress: bool) -> _Failure | None:
    """Fetch ``url`` into ``part`` once and verify it: None when ``part`` is now the archive."""
    try:
        announced = _fetch_into(url, part, timeout, progress)
    except urllib.error.HTTPError as error:
        error.close()
        return _Failure(str(error), error.code in TRANSIENT_STATUSES, _retry_after_s(error.headers))
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        if is_expected(error):  # a full disk or an unwritable folder is not the server's fault
            raise
        return _network_failure(error, timeout)  # the part file is kept: the next attempt, mirror or run resumes it
    return _check(part, announced, archive)


def _try_mirror(url: str, part: Path, archive: Archive, attempts: int, backoff_s: float, timeout: float,
                progress: bool) -> tuple[_Failure | None, int]:
    """Attempt ``url`` until it succeeds, fails for good or has had ``attempts``; (last failure, attempts)."""
    attempt = 1
    while (failure := _attempt(url, part, archive, timeout, progress)) and failure.transient and attempt < attempts:
        delay = failure.retry_after_s if failure.retry_after_s is not None else backoff_s * 2 ** (attempt - 1)
        log.warning("%s: %s (attempt %d of %d); retrying in %g s", url, failure.message, attempt, attempts, delay)
        time.sleep(delay)
        attempt += 1
    return failure, attempt


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def download(archive: Archive, directory: str | Path, urls: tuple[str, ...] | None = None, *,
             timeout: float = 60.0, attempts: int = 4, backoff_s: float = 2.0, progress: bool = True) -> Path:
    """Download ``archive`` into ``directory`` from the first mirror that works; return the verified path.

    ``urls`` replaces the archive's mirrors; ``timeout`` (seconds) bounds every connect and read; each
    mirror gets up to ``attempts`` attempts, transient failures waiting ``backoff_s``, then twice as long.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / archive.filename
    part = directory / f"{archive.filename}.part"
    if target.exists():
        return target
    mirrors = urls or archive.urls
    clauses = []
    for url in mirrors:
        failure, made = _try_mirror(url, part, archive, attempts, backoff_s, timeout, progress)
        if failure is None:
            os.replace(part, target)
            return target
        clauses.append(f"{url}: {failure.message} ({_counted(made, 'attempt')})")
        log.warning("gave up on %s after %s: %s", url, _counted(made, "attempt"), failure.message)
    tried = _counted(len(mirrors), "URL")
    raise DownloadError(f"could not download {archive.filename} from {tried}: " + "; ".join(clauses))
