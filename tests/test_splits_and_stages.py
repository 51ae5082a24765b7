"""Validation splits and the fetch -> extract -> events stages on a tiny digits set."""

import json

import numpy as np
import pytest

from evrepro.datasets.layouts import list_samples
from evrepro.datasets.registry import get_dataset
from evrepro.datasets.splits import source_group, validation_mask
from evrepro.datasets.store import EventsStore
from evrepro.fileio import sha256_file


def test_validation_keeps_recordings_of_one_source_together():
    ids = [f"{image:04d}-{rec}" for image in range(100) for rec in range(3)]
    labels = np.repeat(np.arange(100) % 10, 3)
    is_val = validation_mask(ids, labels, 0.2, seed=5)
    for image in range(100):
        assert len(set(is_val[image * 3 : image * 3 + 3])) == 1
    assert is_val.sum() == 20 * 3  # 2 of the 10 sources in each class
    assert validation_mask(ids, labels, 0.2, seed=5).tolist() == is_val.tolist()
    assert validation_mask(ids, labels, 0.2, seed=6).tolist() != is_val.tolist()
    order = np.random.default_rng(0).permutation(len(ids))
    shuffled = validation_mask([ids[i] for i in order], labels[order], 0.2, seed=5)
    assert shuffled.tolist() == is_val[order].tolist()  # independent of listing order


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
        raw = {sid: path for split, _, sid, path in list_samples(tiny_digits["raw"], get_dataset("digits"))}
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
        build_events("digits", config, tiny_digits["manifest"], raw, tmp_path / "e.h5", progress=False)
    assert not (tmp_path / "e.h5").exists()


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(KeyError, match="known: digits, nmnist"):
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
    path.write_text("datasets: {digits: {}}\nruns: {r: {model: aegnn, dataset: digits}}\n")
    config = load_config(path)
    assert config["runs"]["r"]["training"]["epochs"] == 150  # defaults filled
