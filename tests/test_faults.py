"""Fault injection on the real workflow: config edits, damaged archives and read-only folders on a trained project.

A user's edit must plan exactly the jobs it changes and never destroy a finished result. One copy of the shared
trained project carries through the tests in order (each starts from the state the previous one left); a second
chain (more epochs, caches, runs added and removed) is test_faults_caches_and_runs.py. Kills in every stage and bad
input: test_kills_and_bad_input.py.
"""

import hashlib
import io
import json
import os
import subprocess
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
import torch
from faults import ECN_TABLES, TABLES_AND_FIGURES, aegnn_jobs, digest, digests, ecn_jobs, project_copy
from project import check_every_output_opens, snakemake

from evrepro import layout

pytestmark = pytest.mark.workflow


@contextmanager
def read_only(folder: Path):
    """Make ``folder`` read-only for this process: a read-only bind mount as root (who ignores file modes),
    write permission taken away otherwise."""
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True, text=True)
        assert mounted.returncode == 0, f"root needs a bind mount to make a folder read-only: {mounted.stderr}"
        try:
            remount = subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], capture_output=True, text=True)
            assert remount.returncode == 0, remount.stderr
            yield
        finally:
            subprocess.run(["umount", str(folder)], check=True)
        return
    paths = [folder, *folder.rglob("*")]
    modes = {path: path.stat().st_mode for path in paths}
    for path in paths:
        path.chmod(modes[path] & ~0o222)
    try:
        yield
    finally:
        for path in reversed(paths):
            path.chmod(modes[path])


@pytest.fixture(scope="module")
def project(trained_project, tmp_path_factory):
    return project_copy(trained_project, tmp_path_factory.mktemp("faults"))


def test_adding_a_seed_trains_only_the_new_seed_and_keeps_the_first_byte_for_byte(project):
    before = digests(project.seed_dir("a", 0))
    planned = project.apply(lambda c: c["runs"]["a"].update(seeds=[0, 1, 2]))
    assert planned == aegnn_jobs("a", 2) | TABLES_AND_FIGURES
    project.run()
    assert digests(project.seed_dir("a", 0)) == before
    assert len(pd.read_csv(project.seed_dir("a", 2) / "history.csv")) == 2
    check_every_output_opens(project.root)


def test_removing_a_seed_reruns_only_the_tables_and_keeps_its_results(project):
    kept = digests(project.seed_dir("a", 2))
    planned = project.apply(lambda c: c["runs"]["a"].update(seeds=[0, 1]))
    assert planned == TABLES_AND_FIGURES
    project.run()
    assert digests(project.seed_dir("a", 2)) == kept
    assert pd.read_csv(project.root / "results/tables/runs.csv")["run"].tolist() == ["a", "a", "e", "a"]


def test_a_description_the_key_order_or_how_jobs_execute_change_nothing(project):
    def edit(config):
        for run in config["runs"].values():
            run["description"] = "a note for the report"
            run["training"] = dict(reversed(run["training"].items()))
        config["runs"]["a"]["execution"] = {"device": "cpu", "gpus": 2, "gpu_model": "a100", "threads": 1,
                                            "mem_mb": 1000, "runtime": 5, "checkpoint_minutes": 1}
        config["runs"]["e"]["execution"] = {"checkpoint_every_batches": 3, "device": "cpu", "cpus_per_gpu": 2}
        config["runs"] = dict(reversed(config["runs"].items()))

    assert project.apply(edit) == set()


def test_changing_a_training_value_retrains_that_run_and_sets_the_old_training_aside(project):
    folder = project.seed_dir("e", 0)
    old_last = digest(folder / "checkpoints/last.npz")
    planned = project.apply(lambda c: c["runs"]["e"]["training"].update(lr=0.002))
    assert planned == ecn_jobs("e", 0) | ECN_TABLES
    project.run()
    [aside] = (folder / "superseded").iterdir()
    assert digest(aside / "checkpoints/last.npz") == old_last
    note = json.loads((aside / "superseded.json").read_text())
    assert note["epochs_done"] == 2 and note["because"] == ["training.lr: 0.001 -> 0.002"]
    assert (aside / "metrics.json").exists()  # its results, and what it was trained with:
    assert json.loads((aside / "checkpoints/training.json").read_text())["identity"]["training"]["lr"] == 0.001
    assert digest(folder / "checkpoints/last.npz") != old_last
    assert pd.read_csv(folder / "history.csv")["lr"].iloc[0] == pytest.approx(0.002)
    check_every_output_opens(project.root)


def test_changing_it_back_restores_the_set_aside_training_instead_of_retraining(project):
    folder = project.seed_dir("e", 0)
    [aside] = (folder / "superseded").iterdir()
    original_last = digest(aside / "checkpoints/last.npz")
    planned = project.apply(lambda c: c["runs"]["e"]["training"].update(lr=0.001))
    assert planned == ecn_jobs("e", 0) | ECN_TABLES
    project.run()
    assert digest(folder / "checkpoints/last.npz") == original_last
    assert "restored the training set aside" in (project.root / "logs/train/e_seed-0.log").read_text()
    assert len(list((folder / "superseded").iterdir())) == 1  # the lr=0.002 training, set aside in its turn
    check_every_output_opens(project.root)


def test_a_complete_training_that_is_rerun_rewrites_its_outputs_without_training(project):
    folder = project.seed_dir("a", 0)
    history, best = (folder / "history.csv").read_text(), torch.load(folder / "checkpoints/best.pt")
    # last but the damaged archive: only this training and its evaluation are rerun, nothing downstream
    result = project.run(layout.fill(layout.METRICS, run="a", seed=0), "--forcerun", "train_aegnn")
    assert "already holds all 2 epochs" in (project.root / "logs/train/a_seed-0.log").read_text()
    assert (folder / "history.csv").read_text() == history
    rewritten = torch.load(folder / "checkpoints/best.pt")
    assert rewritten["epoch"] == best["epoch"]
    assert all(torch.equal(rewritten["model"][k], best["model"][k]) for k in best["model"])
    assert "MissingOutputException" not in result.stderr
    check_every_output_opens(project.root)


def test_a_read_only_results_folder_is_refused_before_anything_changes(project):
    results = project.root / "results"
    before = digests(results)
    project.apply(lambda c: c["runs"]["e"].update(seeds=[0, 1]))
    with read_only(results):
        result = snakemake(project.root, "--cores", "2")
    assert result.returncode != 0
    assert "Write-protected output files" in result.stderr
    assert digests(results) == before


def test_a_damaged_archive_is_named_and_nothing_downstream_is_touched(project):
    archive = project.root / "resources/archives/digits/digits.zip"
    manifest_path = archive.parent / "manifest.json"
    original, manifest = archive.read_bytes(), manifest_path.read_text()
    results = digests(project.root / "results")

    archive.write_bytes(original[:-1000])  # truncated after it was fetched
    result = snakemake(project.root, "--cores", "2", "--forcerun", "extract")
    assert result.returncode != 0
    assert (f"error: {archive.relative_to(project.root)}: {len(original) - 1000:,} bytes, but "
            f"resources/archives/digits/manifest.json recorded {len(original):,}") in result.stderr

    damaged = damage_first_member(original)  # damaged at the source: the manifest matches the bad bytes
    archive.write_bytes(damaged)
    entry = json.loads(manifest)
    entry["files"][0].update(size=len(damaged), sha256=hashlib.sha256(damaged).hexdigest())
    manifest_path.write_text(json.dumps(entry))
    result = snakemake(project.root, "--cores", "2", "--forcerun", "extract")
    assert result.returncode != 0
    member = zipfile.ZipFile(archive).infolist()[0].filename
    assert f"error: {archive.relative_to(project.root)}: member '{member}' is damaged (" in result.stderr
    assert digests(project.root / "results") == results


def damage_first_member(archive: bytes) -> bytes:
    """The archive with one byte of its first member's compressed data flipped."""
    info = zipfile.ZipFile(io.BytesIO(archive)).infolist()[0]
    name_length = int.from_bytes(archive[info.header_offset + 26:info.header_offset + 28], "little")
    extra_length = int.from_bytes(archive[info.header_offset + 28:info.header_offset + 30], "little")
    data_start = info.header_offset + 30 + name_length + extra_length
    position = data_start + info.compress_size // 2
    return archive[:position] + bytes([archive[position] ^ 0xFF]) + archive[position + 1:]
