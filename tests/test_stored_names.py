"""Renamed parameters keep their first names in files: a cache built before a rename keeps its id and its
training, and reads back under the current names."""

import h5py
import pytest

from evrepro.caches import cache_id
from evrepro.config import validate_config
from evrepro.errors import ConfigError
from evrepro.graphs.params import PRESETS as GRAPH_PRESETS
from evrepro.graphs.params import GraphParams
from evrepro.graphs.store import GraphStore, build_graph_store
from evrepro.storage.stored_names import from_stored, stored
from evrepro.streams.params import PRESETS as STREAM_PRESETS

# the ids these presets' caches had before events_per_sample and subsample_seed were renamed (n_samples, seed)
IDS_BEFORE_THE_RENAME = {"ncars": "c11586e078", "ncaltech101": "6b76d6732c", "gen1": "98d3c78d79",
                         "digits": "682217cbc0"}


def test_a_rename_changes_no_cache_id():
    assert {name: cache_id(params) for name, params in GRAPH_PRESETS.items()} == IDS_BEFORE_THE_RENAME
    assert cache_id(STREAM_PRESETS["digits"]) == "ce1ab9ef7b"  # no renamed field: the plain form


def test_the_stored_form_uses_the_first_names_and_reads_back_either_way():
    params = GraphParams(events_per_sample=300, radius=3.0, max_neighbors=8, beta_per_us=3e-5, subsample_seed=1)
    form = stored(params)
    assert form["n_samples"] == 300 and form["seed"] == 1 and "events_per_sample" not in form
    assert from_stored(GraphParams, form) == params == from_stored(GraphParams, params.as_dict())


def test_a_cache_stores_the_first_names_and_its_reader_gives_the_current_ones(tiny_digits, tmp_path):
    params = GraphParams(events_per_sample=50, radius=3.0, max_neighbors=8, beta_per_us=3e-5, subsample_seed=2)
    build_graph_store(tiny_digits["store"], tmp_path / "graphs.h5", params, progress=False)
    with h5py.File(tmp_path / "graphs.h5", "r") as handle:
        assert '"n_samples": 50' in handle.attrs["params"] and '"seed": 2' in handle.attrs["params"]
    with GraphStore(tmp_path / "graphs.h5") as store:
        assert store.params == params


@pytest.mark.parametrize(("old", "new"), [("n_samples", "events_per_sample"), ("seed", "subsample_seed")])
def test_a_config_with_the_old_name_is_told_the_new_one(old, new):
    config = {"datasets": {"digits": {}},
              "runs": {"a": {"family": "aegnn", "dataset": "digits", "preprocessing": {"preset": "digits", old: 1}}}}
    with pytest.raises(ConfigError, match=rf"^config runs\.a\.preprocessing\.{old}: renamed {new} \("):
        validate_config(config)


def test_the_digits_generator_keeps_its_archive_and_data_under_the_renamed_key():
    """test_image_fraction (was test_fraction): the fetch rule's params and the archive's manifest are unchanged."""
    from evrepro.datasets.digits_params import DigitsParams

    block = validate_config({"datasets": {"digits": {}}})["datasets"]["digits"]["generator"]
    assert block["test_image_fraction"] == 0.2 and "test_fraction" not in block
    form = stored(DigitsParams.from_config(block))
    assert form == {**{key: value for key, value in block.items() if key != "test_image_fraction"},
                    "test_fraction": 0.2}
    with pytest.raises(ConfigError, match=r"^config datasets\.digits\.generator\.test_fraction: renamed "
                                          r"test_image_fraction \("):
        validate_config({"datasets": {"digits": {"generator": {"test_fraction": 0.3}}}})
