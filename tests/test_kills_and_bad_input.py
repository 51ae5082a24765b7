"""Fault injection on the real workflow, each in a project of its own: a kill in every stage, bad recordings, a
mirror serving a wrong file, and errors of the CLI and of the config (one line each). The config edits on a trained
project: test_faults.py."""

import copy
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from project import TINY_AEGNN, TINY_ECN, check_every_output_opens, kill_at_first, make_project, snakemake, tiny_config

from evrepro.datasets.store import EventsStore
from evrepro.events import make_events, write

pytestmark = pytest.mark.workflow


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
    assert snakemake(root, "--cores", "2", "results/tables/datasets.csv", "--notemp").returncode == 0
    [train] = [d for d in (root / "resources/raw/digits").rglob("*") if d.is_dir() and d.name.lower() == "train"]
    label = sorted(train.iterdir())[0]
    unsorted = make_events([10, 30, 20, 20, 40], [1, 2, 3, 4, 5], [1, 1, 1, 1, 1], [1, 0, 1, 0, 1])
    write(label / "99998.bin", unsorted)
    write(label / "99999.bin", unsorted[:0])
    result = snakemake(root, "--cores", "2", "results/tables/datasets.csv", "--forcerun", "events")
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
        "datasets: {digits: {}}\nruns: {x: {family: ecn, dataset: digits, training: {epoch: 3}}}\n")
    result = evrepro(tmp_path, "train", "x")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "config runs.x.training: Additional properties are not allowed ('epoch' was unexpected)" in result.stderr
    (tmp_path / "config/config.yaml").write_text("datasets: {digits: {}}\nruns: {x: {family: ecn, dataset: digits}}\n")
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
