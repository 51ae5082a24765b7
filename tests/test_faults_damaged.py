"""Damaged files on the real workflow: a graph cache cut short, a training checkpoint cut short. Each ends with one
line naming the file, the damaged file kept aside, and a rerun that completes with the undisturbed results. One copy
of the shared trained project carries through the tests in order, as in test_faults.py."""

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest
from faults import project_copy
from project import check_every_output_opens, snakemake

from evrepro.errors import DamagedFile
from evrepro.storage.h5meta import open_store
from evrepro.storage.verify import store_problems

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def project(trained_project, tmp_path_factory):
    return project_copy(trained_project, tmp_path_factory.mktemp("faults-damaged"))


def test_a_graph_cache_cut_short_is_set_aside_in_one_line_and_rebuilt(project):
    [cache] = (project.root / "results/graphs/digits").glob("*.h5")
    metrics = (project.seed_dir("a", 0) / "metrics.json").read_text()
    data = cache.read_bytes()
    cache.write_bytes(data[: len(data) * 2 // 3])  # a copy cut short

    failed = snakemake(project.root, "--cores", "2")
    assert failed.returncode != 0
    said = [line for line in (failed.stdout + failed.stderr).splitlines() if line.startswith("error: ")]
    assert any(line.startswith(f"error: results/graphs/digits/{cache.name}: damaged store: does not open as HDF5 "
                               "(Unable to synchronously open file (truncated file: eof = ")
               and "set aside as" in line for line in said), said
    [aside] = cache.parent.glob(f"{cache.name}.damaged-*")
    assert aside.read_bytes() == data[: len(data) * 2 // 3] and not cache.exists()  # kept, never deleted

    # nothing done by hand: the failed job lost nothing, and the cache is built again when a job needs it (here
    # asked for by name), after which its trainings are found complete and their outputs rewritten
    project.run()
    assert json.loads((project.seed_dir("a", 0) / "metrics.json").read_text()) == json.loads(metrics)
    project.run(str(cache.relative_to(project.root)))
    assert store_problems(cache) == []
    project.run()
    assert json.loads((project.seed_dir("a", 0) / "metrics.json").read_text()) == json.loads(metrics)
    assert not (project.seed_dir("a", 0) / "superseded").exists()  # the same training: resumed, not retrained
    check_every_output_opens(project.root)


def test_a_training_checkpoint_cut_short_is_set_aside_and_the_training_redone(project):
    folder = project.seed_dir("a", 1)
    last = folder / "checkpoints/last.pt"
    history, metrics = (folder / "history.csv").read_text(), (folder / "metrics.json").read_text()
    last.write_bytes(last.read_bytes()[:1000])
    result = project.run("--forcerun", "train_aegnn", "--set-threads", "train_aegnn=1")  # as it was trained
    log = (project.root / "logs/train/a_seed-1.log").read_text()
    assert "last.pt: damaged checkpoint" in log and "training from scratch" in log
    [aside] = (folder / "superseded").iterdir()
    assert json.loads((aside / "superseded.json").read_text())["usable"] is False
    assert (aside / "checkpoints/last.pt").stat().st_size == 1000
    # the same seed trained again from scratch: the same epochs and the same test result
    assert [row.split(",")[:-1] for row in (folder / "history.csv").read_text().splitlines()] == \
        [row.split(",")[:-1] for row in history.splitlines()]  # the seconds column aside
    assert json.loads((folder / "metrics.json").read_text())["test_accuracy"] == \
        json.loads(metrics)["test_accuracy"]
    assert result.returncode == 0


def test_a_store_whose_columns_disagree_with_its_offsets_or_its_name_is_refused(project, tmp_path):
    [cache] = (project.root / "results/graphs/digits").glob("*.h5")
    damaged = tmp_path / cache.name
    damaged.write_bytes(cache.read_bytes())
    with h5py.File(damaged, "a") as handle:
        pos = handle["train/pos"]
        pos.resize((pos.shape[0] - 5, 3))  # five nodes lost: the node offsets end beyond the column
    problems = store_problems(damaged)
    assert any("/train/pos:" in problem and "its offsets end at" in problem for problem in problems), problems
    with pytest.raises(DamagedFile, match=rf"{damaged.name}: damaged store: .*/train/pos: .* items, its offsets end"):
        open_store(damaged)
    assert not damaged.exists() and len(list(tmp_path.glob(f"{cache.name}.damaged-*"))) == 1

    renamed = tmp_path / "0123456789.h5"  # a cache under another cache's name
    renamed.write_bytes(cache.read_bytes())
    assert store_problems(renamed) == [f"named 0123456789 (its parameters' hash), but it records {cache.stem}"]
    with h5py.File(renamed, "a") as handle:
        handle.attrs["params"] = json.dumps({**json.loads(handle.attrs["params"]), "radius": 9.0})
    assert any(problem.startswith("its params hash to") for problem in store_problems(renamed))
    assert np.all(store_problems(cache, deep=True) == [])


def test_check_names_every_damaged_file_and_repair_lets_the_workflow_build_them_again(project):
    seed0, seed1 = project.seed_dir("a", 0), project.seed_dir("a", 1)
    metrics = json.loads((seed0 / "metrics.json").read_text())
    damaged = {seed0 / "metrics.json": 20, seed1 / "checkpoints/best.pt": 3000,
               project.root / "results/figures/training_curves.png": 500}
    for path, size in damaged.items():
        path.write_bytes(path.read_bytes()[:size])
    archive = project.root / "resources/archives/digits/digits.zip"
    original = archive.read_bytes()
    archive.write_bytes(original[:100] + bytes([original[100] ^ 1]) + original[101:])  # one bit flipped
    before = {path: path.read_bytes() for path in project.root.joinpath("results").rglob("*") if path.is_file()}

    checked = evrepro_check(project.root)
    assert checked.returncode == 1
    lines = checked.stdout.splitlines()
    assert lines[-1].endswith(f"{len(damaged) + 1} damaged, run with --repair to set them aside")
    for path in damaged:
        assert sum(line.startswith(f"{path}: ") for line in lines) == 1, (path, lines)
    assert any(line.startswith(f"{archive}: sha256 ") for line in lines)
    after = {path: path.read_bytes() for path in project.root.joinpath("results").rglob("*") if path.is_file()}
    assert after == before  # checking changes nothing
    archive.write_bytes(original)

    repaired = evrepro_check(project.root, "--repair")
    assert repaired.returncode == 0 and "set aside as" in repaired.stdout
    assert all(not path.exists() and len(list(path.parent.glob(f"{path.name}.damaged-*"))) == 1 for path in damaged)
    command = repaired.stdout.splitlines()[-1].split("`")[1].split()
    assert command[0] == "snakemake" and {project.root / p for p in command[1:]} == set(damaged)
    project.run(*command[1:])
    project.run()
    assert evrepro_check(project.root).stdout.splitlines()[-1].endswith("nothing damaged")
    assert json.loads((seed0 / "metrics.json").read_text()) == metrics
    check_every_output_opens(project.root)


def evrepro_check(root, *args):
    return subprocess.run([sys.executable, "-m", "evrepro", "check", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=600)
