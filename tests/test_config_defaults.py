"""One fact each: every default the config schema fills in equals the default of the dataclass or function that
the block maps onto, and every preset the schema offers is one the code has (and the other way round)."""

import inspect
from dataclasses import MISSING, fields

import pytest
import yaml

from evrepro.config import SCHEMA
from evrepro.families import FAMILIES

DEFINITIONS = yaml.safe_load(SCHEMA.read_text())["$defs"]


def plain(value):
    """Tuples as lists, as a default reads from YAML."""
    return [plain(item) for item in value] if isinstance(value, tuple | list) else value


def dataclass_defaults(cls) -> dict:
    return {f.name: plain(f.default) for f in fields(cls) if f.default is not MISSING}


def schema_defaults(properties: dict) -> dict:
    return {name: spec["default"] for name, spec in properties.items() if "default" in spec and name != "preset"}


def blocks():
    """(schema definition, the class its block maps onto), imported here: the test may load both frameworks."""
    from evrepro.aegnn.detection_family import DetectionTrainConfig
    from evrepro.aegnn.presets import DetectorConfig, GraphResConfig
    from evrepro.aegnn.train import TrainConfig as AEGNNTraining
    from evrepro.datasets.digits_params import DigitsParams
    from evrepro.datasets.traffic_params import TrafficParams
    from evrepro.ecn.presets import ECNConfig
    from evrepro.ecn.train import TrainConfig as ECNTraining

    return [("aegnn_network", GraphResConfig), ("aegnn_training", AEGNNTraining), ("ecn_network", ECNConfig),
            ("ecn_training", ECNTraining), ("embedded_digits", DigitsParams), ("embedded_traffic", TrafficParams),
            ("aegnn_detection_training", DetectionTrainConfig),
            ("aegnn_detection_network", (GraphResConfig, DetectorConfig))]  # the backbone's keys and the head's


@pytest.mark.parametrize("index", range(8))
def test_the_schema_and_the_dataclass_agree_on_every_default(index):
    name, classes = blocks()[index]
    properties = (DEFINITIONS[name]["properties"]["generator"] if name.startswith("embedded_")
                  else DEFINITIONS[name])["properties"]
    classes = classes if isinstance(classes, tuple) else (classes,)
    schema, code = schema_defaults(properties), {k: v for cls in classes for k, v in dataclass_defaults(cls).items()}
    assert schema, name
    assert {key: code.get(key, "(no default)") for key in schema} == schema, name
    # a field the schema leaves to a preset has no default in the code either, or one the schema shows
    unknown = set(code) - set(properties) - {"num_classes", "num_levels", "task"}
    assert not unknown, f"{name}: {classes} have defaults the config cannot set: {sorted(unknown)}"


def test_the_asynchronous_evaluation_defaults_are_the_functions():
    from evrepro.aegnn.async_eval import evaluate_async

    signature = inspect.signature(evaluate_async).parameters
    properties = yaml.safe_load(SCHEMA.read_text())["properties"]["async_eval"]["properties"]
    assert {key: signature[key].default for key in properties} == schema_defaults(properties)


def test_every_preset_the_schema_offers_is_the_codes():
    from evrepro.aegnn.presets import PRESET_LAYERS
    from evrepro.ecn.presets import PRESET_NETWORKS

    for family in FAMILIES.values():
        offered = DEFINITIONS[f"{family.name}_preprocessing"]["properties"]["preset"]["enum"]
        assert sorted(offered) == sorted(family.presets), family.name
    assert sorted(DEFINITIONS["aegnn_network"]["properties"]["preset"]["enum"]) == sorted(PRESET_LAYERS)
    assert sorted(DEFINITIONS["ecn_network"]["properties"]["preset"]["enum"]) == sorted(PRESET_NETWORKS)
