"""Downloads against a real HTTP server on 127.0.0.1, and extraction of nested archives."""

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest

from evrepro.datasets import stages
from evrepro.datasets.download import DownloadError, download
from evrepro.datasets.extract import ArchiveError, extract_all
from evrepro.datasets.registry import REGISTRY, Archive, DatasetSpec
from evrepro.events import make_events
from evrepro.events.atis import encode_atis
from http_server import ArchiveServer

PAYLOAD = np.random.default_rng(0).bytes(3_000_000)


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
        with pytest.raises(DownloadError, match="a.zip"):
            download(archive, tmp_path, urls=(url,), progress=False)
        kept = (tmp_path / "data.zip.part").stat().st_size
        assert 0 < kept < len(PAYLOAD)
        path = download(archive, tmp_path, urls=(url,), progress=False)
        assert server.requests[-1] == ("/a.zip", f"bytes={kept}-")
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
    spec = DatasetSpec("nmnist", "N-MNIST", (34, 34), tuple(str(d) for d in range(10)), "nmnist",
                       archives=(archive_for(body, "468j46mzdv-1.zip", urls=("http://127.0.0.1:9/unused",)),))
    monkeypatch.setitem(REGISTRY, "nmnist", spec)  # the real entry, with a local archive's size and hash
    with ArchiveServer({"/nmnist.zip": body}) as server:
        config = {"urls": [f"{server.url}/nmnist.zip"], "val_fraction": 0.5, "split_seed": 0}
        manifest = stages.fetch("nmnist", config, tmp_path / "archives", progress=False)
    assert json.loads(manifest.read_text())["files"][0]["sha256"] == spec.archives[0].sha256
    stages.extract(manifest, tmp_path / "raw", progress=False)
    assert not list((tmp_path / "raw").rglob("*.zip"))  # nested archives unpacked and removed
    counts = stages.build_events("nmnist", config, manifest, tmp_path / "raw", tmp_path / "e.h5", progress=False)
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
