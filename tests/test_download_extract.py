"""Downloads against a real HTTP server on 127.0.0.1, and extraction of nested archives."""

import dataclasses
import hashlib
import io
import json
import logging
import tarfile
import zipfile

import numpy as np
import pytest
from http_server import ArchiveServer, refused_url

from evrepro.datasets import download as download_module
from evrepro.datasets import stages
from evrepro.datasets.download import DownloadError, download
from evrepro.datasets.extract import ArchiveError, extract_all
from evrepro.datasets.registry import REGISTRY, Archive
from evrepro.events import make_events
from evrepro.events.atis import encode_atis

PAYLOAD = np.random.default_rng(0).bytes(3_000_000)
FAST = {"timeout": 0.5, "backoff_s": 0.01, "progress": False}  # retries that take milliseconds


def archive_for(body: bytes, name="data.zip", urls=()) -> Archive:
    return Archive(name, tuple(urls), len(body), hashlib.sha256(body).hexdigest(), "2026-11-22")


def test_download_verifies_and_renames(tmp_path):
    with ArchiveServer({"/a.zip": PAYLOAD}) as server:
        path = download(archive_for(PAYLOAD, urls=[f"{server.url}/a.zip"]), tmp_path, progress=False)
    assert path.read_bytes() == PAYLOAD and not (tmp_path / "data.zip.part").exists()


def test_download_resumes_a_partial_file_with_a_range_request(tmp_path):
    (tmp_path / "data.zip.part").write_bytes(PAYLOAD[:1_234_567])
    with ArchiveServer({"/a.zip": PAYLOAD}) as server:
        path = download(archive_for(PAYLOAD, urls=[f"{server.url}/a.zip"]), tmp_path, progress=False)
        assert server.requests == [("/a.zip", "bytes=1234567-")]
    assert path.read_bytes() == PAYLOAD


def test_connection_lost_mid_transfer_keeps_the_part_and_the_next_run_resumes(tmp_path):
    archive = archive_for(PAYLOAD)
    with ArchiveServer({"/a.zip": PAYLOAD}, cut_after={"/a.zip": 1_000_000}) as server:
        url = f"{server.url}/a.zip"
        with pytest.raises(DownloadError, match=r"a\.zip: transfer stopped at 1,000,000 of 3,000,000 bytes .*; "
                                                r"a rerun resumes it \(1 attempt\)"):
            download(archive, tmp_path, urls=(url,), attempts=1, progress=False)
        assert (tmp_path / "data.zip.part").stat().st_size == 1_000_000
        path = download(archive, tmp_path, urls=(url,), progress=False)
        assert server.requests[-1] == ("/a.zip", "bytes=1000000-")
    assert path.read_bytes() == PAYLOAD


def test_a_transfer_cut_short_is_retried_at_once_with_a_range_request(tmp_path):
    with ArchiveServer({"/a.zip": PAYLOAD}, cut_after={"/a.zip": 1_000_000}) as server:
        path = download(archive_for(PAYLOAD), tmp_path, urls=(f"{server.url}/a.zip",), **FAST)
        assert server.requests == [("/a.zip", None), ("/a.zip", "bytes=1000000-")]
    assert path.read_bytes() == PAYLOAD


@pytest.mark.parametrize("ignore_range", [False, True], ids=["resumes", "server-ignores-range"])
def test_a_stalled_server_times_out_and_the_retry_continues_from_the_bytes_received(tmp_path, caplog,
                                                                                     ignore_range):
    caplog.set_level(logging.INFO, logger="evrepro.datasets.download")
    with ArchiveServer({"/a.zip": PAYLOAD}, stall_after={"/a.zip": 1_234_567},
                       ignore_range={"/a.zip"} if ignore_range else ()) as server:
        url = f"{server.url}/a.zip"
        path = download(archive_for(PAYLOAD), tmp_path, urls=(url,), **FAST)
        assert server.requests == [("/a.zip", None), ("/a.zip", "bytes=1234567-")]
    assert path.read_bytes() == PAYLOAD
    assert f"{url}: timed out (no data for 0.5 s) (attempt 1 of 4); retrying in 0.01 s" in caplog.text
    assert ("ignored the range request; restarting from byte 0" in caplog.text) == ignore_range


def test_two_503s_then_success_backs_off_doubling(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="evrepro.datasets.download")
    with ArchiveServer({"/a.zip": PAYLOAD}, fail_times={"/a.zip": (503, 2)}) as server:
        url = f"{server.url}/a.zip"
        path = download(archive_for(PAYLOAD), tmp_path, urls=(url,), **FAST)
        assert server.requests == [("/a.zip", None)] * 3
    assert path.read_bytes() == PAYLOAD
    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert retries == [f"{url}: HTTP Error 503: Service Unavailable (attempt 1 of 4); retrying in 0.01 s",
                       f"{url}: HTTP Error 503: Service Unavailable (attempt 2 of 4); retrying in 0.02 s"]


def test_retry_after_in_seconds_is_honoured_up_to_a_cap(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(download_module, "MAX_RETRY_AFTER_S", 0.05)
    caplog.set_level(logging.WARNING, logger="evrepro.datasets.download")
    with ArchiveServer({"/a.zip": PAYLOAD}, fail_times={"/a.zip": (429, 1, 120)}) as server:
        path = download(archive_for(PAYLOAD), tmp_path, urls=(f"{server.url}/a.zip",), **FAST)
        assert len(server.requests) == 2
    assert path.read_bytes() == PAYLOAD
    assert "HTTP Error 429: Too Many Requests (attempt 1 of 4); retrying in 0.05 s" in caplog.text


def test_dead_mirrors_are_skipped_for_the_next_one(tmp_path):
    refused = refused_url()
    with ArchiveServer({"/a.zip": PAYLOAD}) as server:
        urls = (refused, f"{server.url}/gone.zip", f"{server.url}/a.zip")
        path = download(archive_for(PAYLOAD), tmp_path, urls=urls, attempts=3, **FAST)
        assert server.requests == [("/gone.zip", None), ("/a.zip", None)]  # a 404 is not retried
    assert path.read_bytes() == PAYLOAD


def test_when_every_mirror_fails_the_error_names_each_url_its_failure_and_attempts(tmp_path):
    refused = refused_url()
    with ArchiveServer({"/busy.zip": PAYLOAD}, fail_times={"/busy.zip": (503, 99)}) as server:
        urls = (refused, f"{server.url}/gone.zip", f"{server.url}/busy.zip")
        with pytest.raises(DownloadError) as error:
            download(archive_for(PAYLOAD), tmp_path, urls=urls, attempts=3, **FAST)
        assert [path for path, _ in server.requests] == ["/gone.zip"] + ["/busy.zip"] * 3
    message = str(error.value)
    assert message.startswith("could not download data.zip from 3 URLs: ")
    clauses = message.split(": ", 1)[1].split("; ")
    assert len(clauses) == 3
    assert clauses[0].startswith(f"{refused}: ") and clauses[0].endswith("Connection refused (3 attempts)")
    assert clauses[1] == f"{server.url}/gone.zip: HTTP Error 404: Not Found (1 attempt)"
    assert clauses[2] == f"{server.url}/busy.zip: HTTP Error 503: Service Unavailable (3 attempts)"


def test_an_md5_only_archive_is_verified_by_md5_and_a_wrong_one_set_aside(tmp_path):
    corrupt = PAYLOAD[:-1] + b"\x00"
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    archive = Archive("data.zip", (), len(PAYLOAD), None, "2026-11-22", md5=md5)
    with ArchiveServer({"/bad.zip": corrupt, "/good.zip": PAYLOAD}) as server:
        with pytest.raises(DownloadError) as error:
            download(archive, tmp_path, urls=(f"{server.url}/bad.zip",), **FAST)
        assert server.requests == [("/bad.zip", None)]  # a complete wrong file is not retried
        assert f"bad.zip: md5 {hashlib.md5(corrupt).hexdigest()}, expected {md5} (recorded 2026-11-22); " \
               f"set aside as data.zip.rejected-{hashlib.sha256(corrupt).hexdigest()[:12]} (1 attempt)" \
               in str(error.value)
        [rejected] = tmp_path.glob("data.zip.rejected-*")
        assert rejected.read_bytes() == corrupt
        path = download(archive, tmp_path, urls=(f"{server.url}/good.zip",), **FAST)
    assert path.read_bytes() == PAYLOAD


def test_server_ignoring_range_restarts_from_zero(tmp_path):
    (tmp_path / "data.zip.part").write_bytes(b"garbage that must not stay in front")
    with ArchiveServer({"/a.zip": PAYLOAD}, ignore_range={"/a.zip"}) as server:
        path = download(archive_for(PAYLOAD, urls=[f"{server.url}/a.zip"]), tmp_path, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_wrong_checksum_is_reported_and_discarded_then_the_next_mirror_is_tried(tmp_path):
    corrupt = PAYLOAD[:-1] + b"\x00"
    with ArchiveServer({"/bad.zip": corrupt, "/good.zip": PAYLOAD}) as server:
        archive = archive_for(PAYLOAD)
        with pytest.raises(DownloadError) as error:
            download(archive, tmp_path, urls=(f"{server.url}/missing.zip", f"{server.url}/bad.zip"), progress=False)
        message = str(error.value)
        assert "missing.zip: HTTP Error 404" in message
        assert f"sha256 {hashlib.sha256(corrupt).hexdigest()}, expected {archive.sha256}" in message
        assert not (tmp_path / "data.zip.part").exists() and not (tmp_path / "data.zip").exists()
        path = download(archive, tmp_path, urls=(f"{server.url}/bad.zip", f"{server.url}/good.zip"), progress=False)
    assert path.read_bytes() == PAYLOAD


def nmnist_like_archive() -> tuple[bytes, dict[str, np.ndarray]]:
    """The real N-MNIST download: an outer zip holding a folder with Train.zip and Test.zip."""
    rng = np.random.default_rng(1)
    expected, inner = {}, {}
    for first_id, split in ((0, "Train"), (5000, "Test")):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as handle:
            for digit in range(10):
                for k in range(2):
                    n = int(rng.integers(100, 300))
                    events = make_events(np.sort(rng.integers(0, 300_000, n)), rng.integers(0, 34, n),
                                         rng.integers(0, 34, n), rng.integers(0, 2, n))
                    sample_id = f"{first_id + digit * 100 + k:05d}"
                    handle.writestr(f"{split}/{digit}/{sample_id}.bin", encode_atis(events))
                    expected[sample_id] = events
        inner[split] = buffer.getvalue()
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as handle:
        for split, data in inner.items():
            handle.writestr(f"N-MNIST/{split}.zip", data)
    return outer.getvalue(), expected


def test_downloaded_nmnist_layout_goes_through_fetch_extract_events(tmp_path, monkeypatch):
    body, expected = nmnist_like_archive()
    spec = dataclasses.replace(REGISTRY["nmnist"], archives=(archive_for(body, "468j46mzdv-1.zip",
                                                                         urls=("http://127.0.0.1:9/unused",)),))
    monkeypatch.setitem(REGISTRY, "nmnist", spec)  # the real entry, with a local archive's size and hash
    with ArchiveServer({"/nmnist.zip": body}) as server:
        config = {"urls": [f"{server.url}/nmnist.zip"], "val_fraction": 0.5, "split_seed": 0}
        manifest = stages.fetch("nmnist", config, tmp_path / "archives" / "manifest.json", progress=False)
    assert json.loads(manifest.read_text())["files"][0]["sha256"] == spec.archives[0].sha256
    stages.extract(manifest, tmp_path / "raw", progress=False)
    assert not list((tmp_path / "raw").rglob("*.zip"))  # nested archives unpacked and removed
    counts = stages.build_events("nmnist", config, manifest, tmp_path / "raw", tmp_path / "e.h5",
                                 tmp_path / "e.splits.json", progress=False)
    assert counts["test"] == 20 and counts["train"] + counts["val"] == 20 and counts["val"] == 10
    from evrepro.datasets.store import EventsStore

    with EventsStore(tmp_path / "e.h5") as store:
        for split in store.splits:
            for i, sid in enumerate(store.sample_ids(split)):
                np.testing.assert_array_equal(store.sample(split, i), expected[sid])
                assert store.labels(split)[i] == int(sid) % 5000 // 100


def test_extraction_refuses_paths_outside_the_folder_and_leaves_nothing(tmp_path):
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as handle:
        handle.writestr("ok.txt", "fine")
        handle.writestr("../escape.txt", "bad")
    with pytest.raises(ArchiveError, match=r"evil\.zip: member '\.\./escape\.txt'"):
        extract_all([tmp_path / "evil.zip"], tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.zip"]


def test_a_complete_file_of_the_wrong_size_is_set_aside_and_never_resumed(tmp_path):
    wrong = PAYLOAD[:1_000_000]
    archive = archive_for(PAYLOAD)
    with ArchiveServer({"/small.zip": wrong}) as server:
        url = f"{server.url}/small.zip"
        with pytest.raises(DownloadError, match=r"small\.zip: serves a complete file of 1,000,000 bytes, "
                                                r"expected 3,000,000: a different file"):
            download(archive, tmp_path, urls=(url,), progress=False)
        [rejected] = tmp_path.glob("data.zip.rejected-*")
        assert rejected.read_bytes() == wrong and not (tmp_path / "data.zip.part").exists()

        (tmp_path / "data.zip.part").write_bytes(wrong)  # a part file as long as the server's file: HTTP 416
        with pytest.raises(DownloadError, match="serves a complete file of 1,000,000 bytes"):
            download(archive, tmp_path, urls=(url,), progress=False)
        assert server.requests[-1] == ("/small.zip", "bytes=1000000-")
    assert not (tmp_path / "data.zip.part").exists()


def write_manifest(folder, *archives):
    entries = [{"name": a.name, "size": a.stat().st_size, "sha256": hashlib.sha256(a.read_bytes()).hexdigest()}
               for a in archives]
    (folder / "manifest.json").write_text(json.dumps({"dataset": "x", "files": entries, "source": {}}))
    return folder / "manifest.json"


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as handle:
        for name, data in members.items():
            handle.writestr(name, data)
    return buffer.getvalue()


def test_extraction_checks_each_archive_against_its_manifest_before_unpacking(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_bytes({"x.bin": PAYLOAD[:5000]}))
    manifest = write_manifest(tmp_path, archive)
    archive.write_bytes(archive.read_bytes()[:-100])
    with pytest.raises(ArchiveError, match=r"a\.zip: [\d,]+ bytes, but .*manifest\.json recorded [\d,]+ when it "
                                           r"was fetched \(truncated or replaced since\); delete it"):
        stages.extract(manifest, tmp_path / "raw", progress=False)
    archive.write_bytes(zip_bytes({"x.bin": PAYLOAD[5000:10000]}))  # same size, other bytes
    write_manifest(tmp_path, archive)
    manifest.write_text(manifest.read_text().replace(hashlib.sha256(archive.read_bytes()).hexdigest(), "0" * 64))
    with pytest.raises(ArchiveError, match=r"a\.zip: sha256 [0-9a-f]{64}, but .* recorded 0{64}"):
        stages.extract(manifest, tmp_path / "raw", progress=False)
    assert not (tmp_path / "raw").exists()


def flip_middle_byte_of_first_member(data: bytes) -> bytes:
    info = zipfile.ZipFile(io.BytesIO(data)).infolist()[0]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    position = start + info.compress_size // 2
    return data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1:]


def test_a_damaged_member_is_named_with_its_archive_even_when_nested(tmp_path):
    inner = flip_middle_byte_of_first_member(zip_bytes({"Train/0/1.bin": PAYLOAD[:20000]}))
    outer = tmp_path / "outer.zip"
    outer.write_bytes(zip_bytes({"N-MNIST/Train.zip": inner}))
    with pytest.raises(ArchiveError, match=r"outer\.zip > N-MNIST/Train\.zip: member 'Train/0/1\.bin' is damaged"):
        extract_all([outer], tmp_path / "raw", progress=False)
    assert not (tmp_path / "raw").exists()
    (tmp_path / "flat.zip").write_bytes(inner)
    with pytest.raises(ArchiveError, match=r"flat\.zip: member 'Train/0/1\.bin' is damaged \("):
        extract_all([tmp_path / "flat.zip"], tmp_path / "raw", progress=False)


def test_a_truncated_tar_names_the_member_it_cuts(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as handle:
        for name in ("a.bin", "b.bin"):
            info = tarfile.TarInfo(name)
            info.size = 200_000
            handle.addfile(info, io.BytesIO(PAYLOAD[:200_000]))
    (tmp_path / "cut.tar.gz").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) * 2 // 3])
    with pytest.raises(ArchiveError, match=r"cut\.tar\.gz: member 'b\.bin' is damaged \("):
        extract_all([tmp_path / "cut.tar.gz"], tmp_path / "raw", progress=False)
