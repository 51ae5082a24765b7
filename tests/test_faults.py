"""Fault injection on the real workflow: config edits, kills, damaged archives, read-only folders, bad recordings.

A user's edit must plan exactly the jobs it changes and never destroy a finished result; a kill at any stage
must finish on the next run; bad input must stop with one line naming what is wrong. One trained project
carries through the edit tests in order (each starts from the state the previous one left).
"""

import copy
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from project import (
    TINY_AEGNN,
    TINY_ECN,
    check_every_output_opens,
    dry_run_jobs,
    kill_at_first,
    make_project,
    snakemake,
    tiny_config,
    write_config,
)

from evrepro import layout
from evrepro.datasets.store import EventsStore
from evrepro.events import make_events, write

pytestmark = pytest.mark.workflow
ECN_TABLES = {"runs_table", "compute_table", "paper_tables", "paper_figure", "training_curves",
              "results_index"}  # no async evaluation
TABLES_AND_FIGURES = ECN_TABLES | {"async_table", "async_figures"}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digests(folder: Path) -> dict[str, str]:
    """Hash of every file under ``folder`` (superseded trainings left out)."""
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and "superseded" not in p.parts}


def jobs(rule: str, run: str, *seeds: int) -> set[str]:
    return {f"{rule}[run={run}, seed={seed}]" for seed in seeds}


def ecn_jobs(run: str, *seeds: int) -> set[str]:
    return jobs("train_ecn", run, *seeds) | jobs("evaluate_ecn", run, *seeds)


def aegnn_jobs(run: str, *seeds: int) -> set[str]:
    return jobs("train_aegnn", run, *seeds) | jobs("evaluate_aegnn", run, *seeds) | jobs("async_eval", run, *seeds)


class Project:
    """A workflow copy with its current config; ``apply`` edits the config, ``run`` runs the workflow."""

    def __init__(self, root: Path, config: dict):
        self.root, self.config = root, config

    def apply(self, edit) -> set[str]:
        """Edit the config in place and write it; returns the jobs Snakemake now plans."""
        edit(self.config)
        write_config(self.root, self.config)
        return dry_run_jobs(self.root)

    def run(self, *args):
        result = snakemake(self.root, "--cores", "2", *args)
        assert result.returncode == 0, result.stderr[-4000:]
        return result

    def seed_dir(self, run: str, seed: int) -> Path:
        return self.root / layout.fill(layout.RUN, run=run, seed=seed)


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
def project(tmp_path_factory):
    """Trained once: an AEGNN run ``a`` and an ECN run ``e`` on 30 digits, one seed each."""
    config = tiny_config(max_images=30, runs={"a": {**copy.deepcopy(TINY_AEGNN), "seeds": [0]},
                                              "e": copy.deepcopy(TINY_ECN)})
    config["async_eval"] = {"max_streams": 1, "check_every": 100}
    project = Project(make_project(tmp_path_factory.mktemp("faults"), config), config)
    project.run()
    return project


def test_adding_a_seed_trains_only_the_new_seed_and_keeps_the_first_byte_for_byte(project):
    before = digests(project.seed_dir("a", 0))
    planned = project.apply(lambda c: c["runs"]["a"].update(seeds=[0, 1]))
    assert planned == aegnn_jobs("a", 1) | TABLES_AND_FIGURES
    project.run()
    assert digests(project.seed_dir("a", 0)) == before
    assert len(pd.read_csv(project.seed_dir("a", 1) / "history.csv")) == 2
    check_every_output_opens(project.root)


def test_removing_a_seed_reruns_only_the_tables_and_keeps_its_results(project):
    kept = digests(project.seed_dir("a", 1))
    planned = project.apply(lambda c: c["runs"]["a"].update(seeds=[0]))
    assert planned == TABLES_AND_FIGURES
    project.run()
    assert digests(project.seed_dir("a", 1)) == kept
    assert pd.read_csv(project.root / "results/tables/runs.csv")["run"].tolist() == ["a", "e"]


def test_a_description_the_key_order_or_how_jobs_execute_change_nothing(project):
    def edit(config):
        for run in config["runs"].values():
            run["description"] = "a note for the report"
            run["training"] = dict(reversed(run["training"].items()))
        config["runs"]["a"]["execution"] = {"device": "cpu", "gpus": 2, "gpu_model": "a100", "threads": 1,
                                            "mem_mb": 1000, "runtime": 5, "checkpoint_minutes": 1}
        config["runs"]["e"]["execution"] = {"checkpoint_every_batches": 3, "device": "cpu", "replicas": 2,
                                            "cpus_per_gpu": 2}
        config["runs"] = dict(reversed(config["runs"].items()))

    assert project.apply(edit) == set()


def test_a_complete_training_that_is_rerun_rewrites_its_outputs_without_training(project):
    folder = project.seed_dir("a", 0)
    history, best = (folder / "history.csv").read_text(), torch.load(folder / "checkpoints/best.pt")
    result = project.run("--forcerun", "train_aegnn")
    assert "already holds all 2 epochs" in (project.root / "logs/train/a_seed-0.log").read_text()
    assert (folder / "history.csv").read_text() == history
    rewritten = torch.load(folder / "checkpoints/best.pt")
    assert rewritten["epoch"] == best["epoch"]
    assert all(torch.equal(rewritten["model"][k], best["model"][k]) for k in best["model"])
    assert "MissingOutputException" not in result.stderr
    check_every_output_opens(project.root)


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


def test_more_epochs_extend_a_training_from_its_checkpoint(project):
    before = pd.read_csv(project.seed_dir("a", 0) / "history.csv")
    planned = project.apply(lambda c: c["runs"]["a"]["training"].update(epochs=3))
    assert planned == aegnn_jobs("a", 0) | TABLES_AND_FIGURES
    project.run()
    after = pd.read_csv(project.seed_dir("a", 0) / "history.csv")
    assert len(after) == 3
    columns = [c for c in before.columns if c != "seconds"]
    pd.testing.assert_frame_equal(after[columns].iloc[:2], before[columns])  # resumed, not retrained
    assert not (project.seed_dir("a", 0) / "superseded").exists()
    check_every_output_opens(project.root)


def test_changing_a_preprocessing_value_builds_a_new_cache_and_keeps_the_old_one(project):
    [old_cache] = (project.root / "results/graphs/digits").glob("*.h5")
    old_digest = digest(old_cache)
    planned = project.apply(lambda c: c["runs"]["a"]["preprocessing"].update(n_samples=150))
    [graphs] = [job for job in planned if job.startswith("graphs[")]
    [drawn] = [job for job in planned if job.startswith("graph_figure[")]  # the new cache's graph drawn
    assert drawn.removeprefix("graph_figure") == graphs.removeprefix("graphs")
    assert planned == {graphs, drawn} | aegnn_jobs("a", 0) | TABLES_AND_FIGURES
    project.run()
    assert digest(old_cache) == old_digest
    assert len(list((project.root / "results/graphs/digits").glob("*.h5"))) == 2
    note = json.loads(next((project.seed_dir("a", 0) / "superseded").iterdir()).joinpath("superseded.json")
                      .read_text())
    assert any(change.startswith("cache.params.n_samples: 200 -> 150") for change in note["because"])
    check_every_output_opens(project.root)


def test_adding_a_run_on_an_existing_cache_runs_only_its_jobs(project):
    planned = project.apply(lambda c: c["runs"].update(b={**copy.deepcopy(c["runs"]["a"]), "seeds": [4]}))
    assert planned == aegnn_jobs("b", 4) | TABLES_AND_FIGURES
    project.run()
    check_every_output_opens(project.root)


def test_removing_a_run_reruns_only_the_tables_and_keeps_its_results(project):
    kept = digests(project.seed_dir("b", 4))
    planned = project.apply(lambda c: c["runs"].pop("b"))
    assert planned == TABLES_AND_FIGURES
    project.run()
    assert digests(project.seed_dir("b", 4)) == kept
    assert "b" not in set(pd.read_csv(project.root / "results/tables/runs.csv")["run"])
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


def test_a_kill_at_every_stage_finishes_on_the_next_run(tmp_path):
    """SIGKILL the whole run in each stage (mid-write where a stage writes for long), in whatever order Snakemake
    runs them; after the first kill a plain `snakemake` stops at the lock, `--unlock` (what `make run` does) frees
    it, and the run after the last kill completes with every output whole."""
    config = tiny_config(max_images=60, recordings=2, runs={"a": {**copy.deepcopy(TINY_AEGNN), "seeds": [0]},
                                                             "e": copy.deepcopy(TINY_ECN)})
    config["async_eval"] = {"max_streams": 1, "check_every": 100}
    root = make_project(tmp_path, config)
    stages = {
        "fetch": "resources/archives/digits/.digits.zip.tmp-*",
        "extract": "resources/raw/.digits.tmp-*",
        "events": "results/events/.digits.h5.tmp-*",
        "graphs": "results/graphs/digits/.*.h5.tmp-*",
        "streams": "results/streams/digits/.*.h5.tmp-*",
        "train_aegnn": "results/runs/a/seed-0/checkpoints/last.pt",
        "train_ecn": "results/runs/e/seed-0/checkpoints/last.npz",
        "evaluate": "logs/evaluate/*.log",
        "async_eval": "logs/async_eval/a_seed-0.log",
        "report": "logs/report/*.log",
    }
    remaining = dict(stages)
    while remaining and (stage := kill_at_first(root, remaining)) is not None:
        del remaining[stage]
        if len(remaining) == len(stages) - 1:  # what a user sees who reruns plain snakemake, as the README says
            locked = snakemake(root, "--cores", "1")
            assert locked.returncode != 0 and "Directory cannot be locked" in locked.stderr
            assert "--unlock" in locked.stderr
            assert snakemake(root, "--unlock", "--cores", "1").returncode == 0
        else:  # what --unlock does, without its start-up time
            for lock in (root / ".snakemake/locks").iterdir():
                lock.unlink()
    assert not remaining, f"stages that finished before a kill could strike them: {list(remaining)}"
    result = snakemake(root, "--cores", "2")
    assert result.returncode == 0, result.stderr[-4000:]
    check_every_output_opens(root)
    for run in ("a", "e"):
        assert len(pd.read_csv(root / f"results/runs/{run}/seed-0/history.csv")) == 2
    with EventsStore(root / "results/events/digits.h5") as store:
        assert sum(store.num_samples(split) for split in store.splits) == 120


def test_bad_recordings_are_sorted_or_left_out_and_recorded(tmp_path):
    """A recording whose timestamps decrease is sorted (stable) with a warning; an empty one is left out with a
    warning; both are listed in the events store and counted in the datasets table."""
    root = make_project(tmp_path, tiny_config(max_images=12))
    assert snakemake(root, "--cores", "2").returncode == 0
    [train] = [d for d in (root / "resources/raw/digits").rglob("*") if d.is_dir() and d.name.lower() == "train"]
    label = sorted(train.iterdir())[0]
    unsorted = make_events([10, 30, 20, 20, 40], [1, 2, 3, 4, 5], [1, 1, 1, 1, 1], [1, 0, 1, 0, 1])
    write(label / "99998.bin", unsorted)
    write(label / "99999.bin", unsorted[:0])
    result = snakemake(root, "--cores", "2", "--forcerun", "events")
    assert result.returncode == 0, result.stderr[-3000:]
    log = (root / "logs/events/digits.log").read_text()
    assert "99998.bin: timestamp decreases at event 2 (20 after 30; 1 decreases in all); sorted by time" in log
    assert "99999.bin: no events; left out of the events store" in log
    with EventsStore(root / "results/events/digits.h5") as store:
        [resorted], [empty] = store.set_right("resorted"), store.set_right("empty")
        assert resorted["sample_id"] == "99998" and resorted["first"] == {"event": 2, "t": 20, "previous_t": 30}
        assert empty["sample_id"] == "99999"
        split = resorted["split"]
        index = store.sample_ids(split).index("99998")
        sample = store.sample(split, index)
        assert sample["t"].tolist() == [10, 20, 20, 30, 40] and sample["x"].tolist() == [1, 3, 4, 2, 5]
        assert all("99999" not in store.sample_ids(split) for split in store.splits)
    table = pd.read_csv(root / "results/tables/datasets.csv").set_index("split")
    assert table.loc[split, "resorted"] == 1 and table.loc[empty["split"], "empty_left_out"] == 1
    assert table["resorted"].sum() == 1 and table["empty_left_out"].sum() == 1


def evrepro(cwd, *args):
    return subprocess.run([sys.executable, "-m", "evrepro", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_cli_errors_are_one_line_naming_file_offset_and_value_and_debug_shows_the_traceback(tmp_path):
    header = b"% Data file containing Event2D events\n% Version 2\n"
    (tmp_path / "header_only.dat").write_bytes(header)
    (tmp_path / "garbage.dat").write_bytes(header + b"% Date \x01\x02\x03\n" + bytes([0, 8]) + bytes(16))
    write(tmp_path / "unsorted.dat", make_events([5, 3, 9], [1, 2, 3], [1, 2, 3], [0, 1, 1]))
    cases = {
        "header_only.dat": f"header_only.dat: ends at byte {len(header)}, right after its 2 header lines, "
                           "without the event type and size bytes: the file is truncated",
        "garbage.dat": f"garbage.dat: header line 3 (from byte {len(header)}) holds byte 0x01 at byte "
                       f"{len(header) + 7}, which is not text",
    }
    for name, message in cases.items():
        result = evrepro(tmp_path, "inspect", name)
        assert result.returncode == 1 and result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"evrepro inspect: error: {name}"), result.stderr
        assert message in lines[0]
    debug = evrepro(tmp_path, "inspect", "garbage.dat", "--debug")
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "EventFormatError" in debug.stderr

    unsorted = evrepro(tmp_path, "inspect", "unsorted.dat")
    assert unsorted.returncode == 0
    summary = json.loads(unsorted.stdout)
    assert summary["time_decreases"] == 1 and summary["first_time_decrease"] == {"event": 1, "t": 3, "previous_t": 5}

    (tmp_path / "config").mkdir()
    (tmp_path / "config/config.yaml").write_text("datasets:\n  digits:\n    val_fraction: 0.1\n   split_seed: 2\n")
    result = evrepro(tmp_path, "fetch", "digits")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "config/config.yaml, line 4, column 4: YAML syntax error" in result.stderr
    (tmp_path / "config/config.yaml").write_text(
        "datasets: {digits: {}}\nruns: {x: {model: ecn, dataset: digits, training: {epoch: 3}}}\n")
    result = evrepro(tmp_path, "train", "x")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "config runs.x.training: Additional properties are not allowed ('epoch' was unexpected)" in result.stderr
    (tmp_path / "config/config.yaml").write_text("datasets: {digits: {}}\nruns: {x: {model: ecn, dataset: digits}}\n")
    result = evrepro(tmp_path, "train", "x")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "not found: make it first with `python -m evrepro cache x`" in result.stderr


def test_a_yaml_syntax_error_stops_snakemake_naming_line_and_column(tmp_path):
    root = make_project(tmp_path, tiny_config())
    (root / "config/config.yaml").write_text("datasets:\n  digits:\n    generator: {seed: 1\n    val_fraction: 0.1\n")
    result = snakemake(root, "-n", "--cores", "1")
    assert result.returncode != 0
    assert "config/config.yaml, line 4, column 17: YAML syntax error" in result.stdout + result.stderr
    assert not (root / "resources").exists()


def test_a_mirror_serving_a_complete_wrong_file_is_called_that_and_set_aside(tmp_path):
    """The real N-MNIST registry entry and a config mirror serving 3 MB: not 'a rerun resumes it', every time."""
    from http_server import ArchiveServer

    (tmp_path / "config").mkdir()
    wrong = np.random.default_rng(0).bytes(3_000_000)
    with ArchiveServer({"/nmnist.zip": wrong}) as server:
        (tmp_path / "config/config.yaml").write_text(
            f"datasets:\n  nmnist:\n    urls: ['{server.url}/nmnist.zip']\n")
        for attempt in range(2):
            result = evrepro(tmp_path, "fetch", "nmnist")
            last = result.stderr.strip().splitlines()[-1]  # after the progress bar
            assert result.returncode == 1 and last.startswith("evrepro fetch: error: ") and last.count("error") == 1
            assert ("nmnist.zip: serves a complete file of 3,000,000 bytes, expected 1,178,661,068: a different "
                    "file") in result.stderr
            assert "resumes" not in result.stderr
    folder = tmp_path / "resources/archives/nmnist"
    assert not (folder / "468j46mzdv-1.zip.part").exists()
    [rejected] = folder.glob("468j46mzdv-1.zip.rejected-*")
    assert rejected.read_bytes() == wrong
