"""The family registry: every dispatch by model family goes through it, and an unknown family is refused in one
line everywhere."""

import importlib.util
import re

import pytest
import yaml
from conftest import REPO

from evrepro.caches import cache_path
from evrepro.config import SCHEMA
from evrepro.errors import ConfigError
from evrepro.families import FAMILIES, family

# a comparison with a family's name, in Python, Snakemake or a Jinja caption
DISPATCH = re.compile(r"""(==|!=)\s*["'](aegnn|ecn)["']|["'](aegnn|ecn)["']\s*(==|!=)""")


def test_no_code_outside_the_registry_branches_on_a_family_name():
    sources = [*(REPO / "src" / "evrepro").rglob("*.py"), *(REPO / "scripts").glob("*.py"),
               *(REPO / "workflow").rglob("*.smk"), *(REPO / "workflow").rglob("*.rst"), REPO / "Snakefile"]
    found = [f"{path.relative_to(REPO)}:{number}" for path in sources
             for number, line in enumerate(path.read_text().splitlines(), start=1) if DISPATCH.search(line)]
    assert found == []


def test_the_config_schema_knows_exactly_the_registered_families():
    schema = yaml.safe_load(SCHEMA.read_text())
    run = schema["$defs"]["run"]
    assert run["properties"]["family"]["enum"] == list(FAMILIES)
    branches = {branch["if"]["properties"]["family"]["const"] for branch in run["allOf"]}
    assert branches == set(FAMILIES)
    for name in FAMILIES:
        for block in ("preprocessing", "network", "training", "execution"):
            assert f"{name}_{block}" in schema["$defs"], (name, block)


def test_every_family_names_importable_code_and_a_cache_of_its_own():
    for name, known in FAMILIES.items():
        assert importlib.util.find_spec(known.trainer_module) is not None
        module, function = known.cache_builder.split(":")
        assert importlib.util.find_spec(module) is not None and function.startswith("build_")
        environment = known.conda_env
        assert (REPO / "envs" / f"{environment}.yaml").exists()
        assert (REPO / "envs" / f"{environment}-gpu.yaml").exists()
        assert known.train_rule == f"train_{name}" and known.cache_params({"preset": next(iter(known.presets))})
    assert len({known.cache_kind for known in FAMILIES.values()}) == len(FAMILIES)


def test_an_unknown_family_is_refused_in_one_line():
    known = r"\(aegnn, ecn, aegnn_detection\)"
    with pytest.raises(ConfigError, match=rf"^family 'pointnet' is none of the model families {known}$"):
        family("pointnet")
    with pytest.raises(ConfigError, match="family 'pointnet'"):
        cache_path({"family": "pointnet", "dataset": "digits", "preprocessing": {"preset": "digits"}})


def test_a_run_that_still_says_model_is_told_the_new_key():
    from evrepro.config import validate_config

    config = {"datasets": {"digits": {}}, "runs": {"x": {"model": "aegnn", "dataset": "digits"}}}
    with pytest.raises(ConfigError, match=r"^config runs\.x\.model: renamed family \(the model family"):
        validate_config(config)
