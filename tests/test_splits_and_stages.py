"""Validation splits and the fetch -> extract -> events stages on a tiny digits set."""

import json

import numpy as np
import pytest

from evrepro.datasets.layouts import list_samples
from evrepro.datasets.registry import get_dataset
from evrepro.datasets.splits import assign_splits, holdout, manifest_hash, source_group
from evrepro.datasets.store import EventsStore
from evrepro.storage.fileio import sha256_file


def test_validation_keeps_recordings_of_one_source_together():
    ids = [f"{image:04d}-{rec}" for image in range(100) for rec in range(3)]
    labels = np.repeat(np.arange(100) % 10, 3)
    is_val = holdout(ids, labels, {"val": 0.2}, seed=5) == "val"
    for image in range(100):
        assert len(set(is_val[image * 3 : image * 3 + 3])) == 1
    assert is_val.sum() == 20 * 3  # 2 of the 10 sources in each class
    assert (holdout(ids, labels, {"val": 0.2}, seed=5) == "val").tolist() == is_val.tolist()
    assert (holdout(ids, labels, {"val": 0.2}, seed=6) == "val").tolist() != is_val.tolist()
    order = np.random.default_rng(0).permutation(len(ids))
    shuffled = holdout([ids[i] for i in order], labels[order], {"val": 0.2}, seed=5) == "val"
    assert shuffled.tolist() == is_val[order].tolist()  # independent of listing order


def test_a_dataset_without_official_splits_gets_disjoint_stratified_train_val_test():
    ids = [f"cls{c}/image_{i:04d}" for c in range(4) for i in range(50)]
    labels = np.repeat(np.arange(4), 50)
    splits = assign_splits([None] * len(ids), ids, labels, val_fraction=0.1, test_fraction=0.2, seed=1)
    for label in range(4):
        in_class = splits[labels == label]
        assert (in_class == "val").sum() == 5 and (in_class == "test").sum() == 10 and (in_class == "train").sum() == 35
    order = np.random.default_rng(2).permutation(len(ids))
    again = assign_splits([None] * len(ids), [ids[i] for i in order], labels[order], 0.1, 0.2, seed=1)
    assert again.tolist() == splits[order].tolist()  # sample ids decide, not listing order
    assert assign_splits([None] * len(ids), ids, labels, 0.1, 0.2, seed=2).tolist() != splits.tolist()


def test_official_splits_are_kept_and_only_val_is_derived_from_train():
    release = ["train"] * 40 + ["test"] * 10
    ids = [f"{i:05d}" for i in range(50)]
    labels = np.arange(50) % 2
    splits = assign_splits(release, ids, labels, val_fraction=0.25, test_fraction=0.5, seed=0)
    assert splits[40:].tolist() == ["test"] * 10
    assert (splits[:40] == "val").sum() == 10 and "test" not in splits[:40]
    with_val = assign_splits(["train"] * 5 + ["val"] * 5 + ["test"] * 5, ids[:15], labels[:15], 0.5, 0.5, 0)
    assert with_val.tolist() == ["train"] * 5 + ["val"] * 5 + ["test"] * 5  # Gen1: all three are official


def test_the_split_manifest_lists_every_sample_and_its_hash_is_in_the_store(tiny_digits):
    record = json.loads(tiny_digits["splits"].read_text())
    with EventsStore(tiny_digits["store"]) as store:
        for split in store.splits:
            assert record["splits"][split] == sorted(store.sample_ids(split))
        stored = store.split_manifest_sha256
    assert stored == manifest_hash(record) and len(stored) == 64
    record["splits"]["val"] = record["splits"]["val"][1:]
    assert manifest_hash(record) != stored


def test_source_group_of_nmnist_ids_is_the_id_itself():
    assert source_group("00042") == "00042" and source_group("0042-1") == "0042"


def test_stages_build_a_store_with_disjoint_sources(tiny_digits):
    manifest = json.loads(tiny_digits["manifest"].read_text())
    archive = tiny_digits["manifest"].parent / manifest["files"][0]["name"]
    assert manifest["files"][0]["sha256"] == sha256_file(archive)
    assert manifest["source"]["params"]["max_images"] == 40
    with EventsStore(tiny_digits["store"]) as store:
        assert store.splits == ["train", "val", "test"]
        assert sum(store.num_samples(s) for s in store.splits) == 80
        groups = {s: {source_group(i) for i in store.sample_ids(s)} for s in store.splits}
        assert not groups["train"] & groups["val"] and not groups["train"] & groups["test"]
        assert not groups["val"] & groups["test"]
        assert store.attr_json("inputs") == {"digits.zip": manifest["files"][0]["sha256"]}
        assert store.attr_json("source")["generator"] == "evrepro.datasets.digits"
        raw = {s.sample_id: s.path for s in list_samples(tiny_digits["raw"], get_dataset("digits"))}
        from evrepro.events import read

        sid = store.sample_ids("test")[0]
        np.testing.assert_array_equal(store.sample("test", 0), read(raw[sid]))


def test_events_stage_names_the_file_with_out_of_range_pixels(tiny_digits, tmp_path):
    import shutil

    from evrepro.datasets.stages import build_events
    from evrepro.events import make_events, write

    raw = tmp_path / "raw"
    shutil.copytree(tiny_digits["raw"], raw)
    bad = next(raw.rglob("*.bin"))
    write(bad, make_events([0, 10], [3, 40], [3, 3], [1, 0]))
    config = {"val_fraction": 0.1, "split_seed": 0}
    with pytest.raises(ValueError, match=rf"{bad.name}.*event 1 has x=40"):
        build_events("digits", config, tiny_digits["manifest"], raw, tmp_path / "e.h5", tmp_path / "s.json",
                     progress=False)
    assert not (tmp_path / "e.h5").exists()


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(KeyError, match="known: asl-dvs, cifar10-dvs, digits, gen1, mnist-dvs, ncaltech101, ncars, nmnist"):
        get_dataset("nmnsit")


def test_config_errors_point_at_the_line_or_the_key(tmp_path):
    from evrepro.config import load_config
    from evrepro.errors import ConfigError

    path = tmp_path / "config.yaml"
    path.write_text("datasets:\n  digits: {generator: [1, 2}\n")
    with pytest.raises(ConfigError, match=r"config\.yaml, line 2, column 28: YAML syntax error: expected .,. or "
                                          r".\]., but got .}."):
        load_config(path)
    path.write_text("datasets: {digits: {val_fraction: 2}}\n")
    with pytest.raises(ConfigError, match=r"config\.yaml: config datasets\.digits\.val_fraction: 2 is greater than"):
        load_config(path)
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="holds a YAML list, not a mapping"):
        load_config(path)
    path.write_text("datasets: {digits: {}}\nruns: {r: {family: aegnn, dataset: digits}}\n")
    config = load_config(path)
    assert config["runs"]["r"]["training"]["epochs"] == 150  # defaults filled
