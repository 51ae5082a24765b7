"""RunFolder.claim: a training's checkpoint is resumed, set aside or restored, and never deleted."""

import json

import h5py
import pytest

from evrepro.storage.h5meta import root_attributes
from evrepro.training.folder import RunFolder, fingerprint, training_identity, training_params


@pytest.fixture
def cache(tmp_path):
    path = tmp_path / "cache.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs.update(root_attributes("evrepro.graphs/1", {"radius": 3.0}, {"digits.h5": "ab" * 32}))
    return path


def identity(cache, **training):
    return training_identity("aegnn", "digits", 0, cache, {"channels": (1, 8)}, {"epochs": 3, "lr": 0.005, **training})


def train(folder, epochs_done: int, marker: str) -> None:
    """A stand-in for a trainer: a checkpoint holding its number of epochs, and some outputs."""
    (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
    (folder / "checkpoints" / "last.pt").write_text(json.dumps({"epochs": epochs_done, "marker": marker}))
    (folder / "metrics.json").write_text(marker)


def epochs_done(last) -> int:
    return json.loads(last.read_text())["epochs"]


def test_execution_settings_are_not_part_of_a_training(cache):
    assert identity(cache)["network"] == {"channels": [1, 8]}
    run = {"family": "ecn", "dataset": "d", "seeds": [0, 1], "description": "x", "network": {"filters0": 4},
           "training": {"lr": 1}, "execution": {"gpus": 4, "device": "gpu", "checkpoint_minutes": 2}}
    assert training_params(run) == {"family": "ecn", "dataset": "d", "network": {"filters0": 4},
                                    "training": {"lr": 1}}


def test_a_matching_checkpoint_is_resumed_and_more_epochs_extend_it(tmp_path, cache):
    folder = RunFolder(tmp_path / "seed-0")
    assert folder.claim(identity(cache), epochs_done) == "fresh"
    train(folder.path, 2, "first")
    assert folder.claim(identity(cache), epochs_done) == "resume"
    assert folder.claim(identity(cache, epochs=10), epochs_done) == "resume"
    assert json.loads(folder.record.read_text())["identity"]["training"]["epochs"] == 10
    assert not (folder.path / "superseded").exists()


def test_a_changed_training_is_set_aside_whole_and_restored_when_asked_for_again(tmp_path, cache):
    folder = RunFolder(tmp_path / "seed-0")
    folder.claim(identity(cache), epochs_done)
    train(folder.path, 3, "lr 0.005")
    assert folder.claim(identity(cache, lr=0.01), epochs_done) == "fresh"
    [aside] = (folder.path / "superseded").iterdir()
    assert aside.name.endswith(fingerprint(identity(cache)))
    assert json.loads((aside / "checkpoints/last.pt").read_text())["marker"] == "lr 0.005"
    assert (aside / "metrics.json").read_text() == "lr 0.005"
    note = json.loads((aside / "superseded.json").read_text())
    assert note["because"] == ["training.lr: 0.005 -> 0.01"] and note["epochs_done"] == 3
    assert sorted(p.name for p in folder.path.iterdir()) == ["checkpoints", "superseded"]

    train(folder.path, 1, "lr 0.01")
    assert folder.claim(identity(cache), epochs_done) == "restore"
    assert json.loads(folder.last_checkpoint().read_text())["marker"] == "lr 0.005"
    assert (folder.path / "metrics.json").read_text() == "lr 0.005"
    [aside] = (folder.path / "superseded").iterdir()  # the lr 0.01 training, set aside in turn
    assert json.loads((aside / "checkpoints/last.pt").read_text())["marker"] == "lr 0.01"
    assert json.loads(folder.record.read_text())["fingerprint"] == fingerprint(identity(cache))


def test_fewer_epochs_than_trained_another_cache_or_no_record_set_the_checkpoint_aside(tmp_path, cache):
    folder = RunFolder(tmp_path / "seed-0")
    folder.claim(identity(cache, epochs=5), epochs_done)
    train(folder.path, 5, "five")
    assert folder.claim(identity(cache, epochs=3), epochs_done) == "fresh"
    [aside] = (folder.path / "superseded").iterdir()
    assert json.loads((aside / "superseded.json").read_text())["because"] == ["it trained 5 epochs, 3 are asked for"]

    train(folder.path, 1, "other cache")
    with h5py.File(cache, "a") as handle:
        handle.attrs["inputs"] = json.dumps({"digits.h5": "cd" * 32})
    assert folder.claim(identity(cache, epochs=3), epochs_done) == "fresh"
    assert len(list((folder.path / "superseded").iterdir())) == 2

    train(folder.path, 1, "unrecorded")
    folder.record.unlink()
    assert folder.claim(identity(cache, epochs=3), epochs_done) == "fresh"
    assert [p.name.endswith("-unrecorded") for p in sorted((folder.path / "superseded").iterdir())].count(True) == 1
