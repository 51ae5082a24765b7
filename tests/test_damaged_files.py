"""Damaged and unsafe files: a checkpoint cut short or crafted to run code is never loaded, is set aside (never
deleted) with one line, and the training starts over to the undisturbed result; a full disk is named."""

import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from training import evaluate, train

from evrepro.aegnn.checkpoint import load_checkpoint
from evrepro.aegnn.family import TRAINER
from evrepro.ecn.checkpoint import load_arrays, save_arrays
from evrepro.errors import DamagedFile
from evrepro.graphs.params import GraphParams
from evrepro.graphs.store import build_graph_store

NETWORK = {"preset": "ncars", "pool_voxel": [8, 8]}
TRAINING = {"epochs": 2, "batch_size": 8, "max_train_samples": 48}


class RunsCode:
    """A pickle that, loaded without weights_only, would write a file: the attack a shared results/ allows."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "ran"))


@pytest.fixture(scope="module")
def graphs(tiny_digits, tmp_path_factory):
    path = tmp_path_factory.mktemp("graphs") / "g.h5"
    build_graph_store(tiny_digits["store"], path, GraphParams(300, 3.0, 8, 3e-5), progress=False)
    return path


@pytest.fixture(scope="module")
def undisturbed(graphs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("undisturbed")
    train(TRAINER, graphs, folder, NETWORK, TRAINING)
    return folder


def crafted(path: Path, marker: Path) -> None:
    """A .pt file as torch.save writes it, whose pickle calls a function when loaded without weights_only."""
    torch.save({"history": [], "model": RunsCode(marker)}, path)


def cut_short(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("damage", ["cut short", "crafted"])
def test_a_damaged_checkpoint_is_set_aside_and_the_training_starts_over(graphs, undisturbed, tmp_path, damage,
                                                                         caplog):
    folder = tmp_path / "run"
    train(TRAINER, graphs, folder, NETWORK, {**TRAINING, "epochs": 1})
    last, marker = folder / "checkpoints/last.pt", tmp_path / "marker"
    cut_short(last) if damage == "cut short" else crafted(last, marker)
    damaged_bytes = last.read_bytes()

    refused = r"last\.pt: (damaged checkpoint|refused, not loaded: .*Unsupported global)"
    with pytest.raises(DamagedFile, match=refused):
        load_checkpoint(last)
    with caplog.at_level(logging.WARNING):
        train(TRAINER, graphs, folder, NETWORK, TRAINING)
    assert not marker.exists()  # never loaded
    said = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert any("the checkpoint is set aside" in line and "last.pt" in line and "\n" not in line for line in said)
    assert any(line.endswith("training from scratch") for line in said)
    [aside] = (folder / "superseded").iterdir()
    assert (aside / "checkpoints/last.pt").read_bytes() == damaged_bytes  # kept as it was, never deleted
    whole = pd.read_csv(undisturbed / "history.csv").drop(columns="seconds")
    pd.testing.assert_frame_equal(pd.read_csv(folder / "history.csv").drop(columns="seconds"), whole)
    a, b = (torch.load(f / "checkpoints/best.pt", weights_only=True)["model"] for f in (undisturbed, folder))
    assert all(torch.equal(a[name], b[name]) for name in a)


def test_a_crafted_best_checkpoint_is_refused_by_the_evaluation_in_one_line(graphs, undisturbed, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(undisturbed, folder)
    marker = tmp_path / "marker"
    crafted(folder / "checkpoints/best.pt", marker)
    with pytest.raises(DamagedFile, match=r"best\.pt: refused") as refused:
        evaluate(TRAINER, graphs, folder)
    assert "\n" not in str(refused.value) and not marker.exists()


def test_checkpoints_hold_only_tensors_and_plain_data(undisturbed):
    state = torch.load(undisturbed / "checkpoints/last.pt", weights_only=True)
    assert set(state["rng"]) == {"torch", "numpy", "python"} and isinstance(state["rng"]["numpy"]["key"], torch.Tensor)


def test_an_ecn_checkpoint_cut_short_or_pickled_is_refused(tmp_path):
    path = tmp_path / "last.npz"
    save_arrays(path, {"model": {"w": np.ones(1000, dtype=np.float32)}}, {"history": [1, 2]})
    assert load_arrays(path)[1] == {"history": [1, 2]}
    cut_short(path)
    with pytest.raises(DamagedFile, match=r"last\.npz: damaged checkpoint"):
        load_arrays(path)
    with open(path, "wb") as handle:  # an object array: numpy stores it as a pickle
        np.savez(handle, state=np.array(['{"history": []}']), **{"model/w": np.array([RunsCode(tmp_path / "m")],
                                                                                      dtype=object)})
    with pytest.raises(DamagedFile, match="allow_pickle=False"):
        load_arrays(path)
    assert not (tmp_path / "m").exists()


FULL_DISK = textwrap.dedent("""
    import sys
    from pathlib import Path

    import h5py
    import numpy as np
    import torch

    from evrepro.aegnn.checkpoint import save_checkpoint
    from evrepro.errors import DiskFull
    from evrepro.storage.fileio import atomic_output

    small = Path(sys.argv[1])
    save_checkpoint({"w": torch.ones(1000)}, small / "kept.pt")  # a finished result, before the disk fills

    def plain(temporary):
        temporary.write_bytes(bytes(4_000_000))

    def hdf5(temporary):
        with h5py.File(temporary, "w") as handle:
            handle["x"] = np.ones(1_000_000)

    def checkpoint(temporary):
        torch.save({"w": torch.ones(1_000_000)}, temporary)

    for write in (plain, hdf5, checkpoint):
        try:
            with atomic_output(small / f"{write.__name__}.out") as temporary:
                write(temporary)
        except DiskFull as error:
            print(write.__name__, "|", error)
        else:
            print(write.__name__, "| written")
    print("left |", sorted(p.name for p in small.iterdir()))
    print("kept |", torch.load(small / "kept.pt", weights_only=True)["w"].sum().item())
""")


def test_a_full_disk_is_named_and_leaves_nothing_partial(tmp_path):
    """Writers on a real 2 MB tmpfs (its own mount namespace, no privilege needed beyond user namespaces)."""
    if shutil.which("unshare") is None:
        pytest.fail("util-linux's unshare is needed to mount a small tmpfs for this test")
    small = tmp_path / "small"
    small.mkdir()
    (tmp_path / "full_disk.py").write_text(FULL_DISK)
    command = (f"mount -t tmpfs -o size=2m tmpfs {small} && "
               f"{sys.executable} {tmp_path / 'full_disk.py'} {small}")
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    for namespaces in ("-rm", "-m"):  # a user namespace, else root's own mount namespace
        result = subprocess.run(["unshare", namespaces, "sh", "-c", command], capture_output=True, text=True,
                                env=environment)
        if result.returncode == 0:
            break
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split(" | ", 1) for line in result.stdout.splitlines())
    for write in ("plain", "hdf5", "checkpoint"):
        assert lines[write].startswith(f"no space left on device writing {small / write}.out (free: "), lines[write]
        assert "MB)" in lines[write] and "\n" not in lines[write]
    assert lines["left"] == "['kept.pt']"  # no partial file, no temporary
    assert lines["kept"] == "1000.0"
