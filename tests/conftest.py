"""Shared fixtures: the real recordings in tests/data/real (SOURCES.md there) and a tiny generated digits store."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL = REPO / "tests" / "data" / "real"

TINY_DIGITS = {"generator": {"max_images": 40, "recordings_per_image": 2, "seed": 3},
               "val_fraction": 0.25, "split_seed": 0}


def pytest_collection_modifyitems(items):
    """The files of several minutes first, as pytest-xdist hands out whole files in this order (``make test`` turns its
    reordering by test count off) and a five-minute file must not start last: the real workflow runs (marked
    ``workflow``) and the ``slow`` files, then the workflow runs that copy the shared trained project (so that no
    worker waits for it to be built while another builds it), then the rest."""

    def order(item) -> int:
        long = item.get_closest_marker("workflow") or item.get_closest_marker("slow")
        return 2 if not long else 1 if "trained_project" in item.fixturenames else 0

    items.sort(key=order)


@pytest.fixture(scope="session")
def real_fixtures() -> Path:
    assert REAL.is_dir(), f"real fixtures missing: {REAL}"
    return REAL


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory) -> Path:
    """The shared tiny project (project.shared_config), trained once per test session, also across pytest-xdist's
    workers (the first builds it under a lock, the others wait and reuse it). Copy it before changing it."""
    from filelock import FileLock

    from project import build_shared_project

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    shared = tmp_path_factory.getbasetemp().parent if worker else tmp_path_factory.getbasetemp()
    template = shared / "trained-project"
    with FileLock(str(shared / "trained-project.lock")):
        if not (template / "results" / "README.md").exists():
            shutil.rmtree(template, ignore_errors=True)  # what a failed build left
            template.mkdir()
            build_shared_project(template)
    return template


@pytest.fixture(scope="session")
def tiny_digits(tmp_path_factory):
    """fetch -> extract -> events for 40 digit images; returns the paths of each stage."""
    from evrepro.datasets import stages

    root = tmp_path_factory.mktemp("digits")
    manifest = stages.fetch("digits", TINY_DIGITS, root / "archives" / "manifest.json", progress=False)
    stages.extract(manifest, root / "raw", progress=False)
    store = root / "digits.h5"
    stages.build_events("digits", TINY_DIGITS, manifest, root / "raw", store, root / "digits.splits.json",
                        progress=False)
    return {"manifest": manifest, "raw": root / "raw", "store": store, "splits": root / "digits.splits.json"}


def kill_when_written(script: str, path: Path, cwd=None, timeout_s: float = 300) -> None:
    """Run ``python -c script``; SIGKILL its whole process group as soon as ``path`` exists."""
    process = subprocess.Popen([sys.executable, "-c", script], start_new_session=True, cwd=cwd,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert process.poll() is None, f"the process ended before writing {path}"
        assert time.monotonic() < deadline, f"{path} not written within {timeout_s} s"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
