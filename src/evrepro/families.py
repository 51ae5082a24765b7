"""The model families evrepro trains, as plain data: every place that differs by family looks it up here.

A run's ``family`` names it. The registry says which cache it trains on (kind, parameters, presets and the
function that builds it), the names of its rules and checkpoints, whether it is also evaluated event by event, and
where its trainer lives: the ``evrepro.training.stages.Trainer`` with its framework, imported only by the jobs that
train or score it (``trainer``), so that reading this loads neither torch nor TensorFlow. Adding a family is one
entry here plus its package, its scripts' rules come from the loops in ``workflow/rules/train.smk`` and
``evaluate.smk`` (docs/architecture.md, "Add a model family").
"""

import importlib
from dataclasses import dataclass, replace

from evrepro.errors import ConfigError
from evrepro.graphs.detection_params import PRESETS as DETECTION_GRAPH_PRESETS
from evrepro.graphs.detection_params import DetectionGraphParams
from evrepro.graphs.params import PRESETS as GRAPH_PRESETS
from evrepro.graphs.params import GraphParams
from evrepro.streams.params import PRESETS as STREAM_PRESETS
from evrepro.streams.params import StreamParams


@dataclass(frozen=True)
class Family:
    """One model family: what the workflow, the CLI and the report need to know of it."""

    name: str  # a run's ``family`` in the config
    title: str  # as the tables and captions name it
    cache_kind: str  # the {kind} of layout.CACHE, and the name of the rule that builds it
    params_type: type  # its cache's parameters (a dataclass with ``as_dict``)
    presets: dict  # preset name -> params_type
    cache_builder: str  # "module:function" building a cache: (events, out, params, progress=, [threads=])
    cache_threads: bool  # whether that builder takes the job's threads
    trainer_module: str  # the module whose TRAINER is its training.stages.Trainer (imports the framework)
    checkpoint_suffix: str  # of checkpoints/best* and last*
    asynchronous: bool  # also evaluated event by event (rule async_eval)
    colour: int  # its runs' colour in the figures (evrepro.report.style's palette)
    task: str = "classification"  # a run's dataset must have this task (evrepro.datasets.registry)
    environment: str = ""  # its jobs' conda environment (envs/<environment>.yaml); default: its name
    evaluation: str = "confusion"  # evaluate's output beside metrics.json: confusion (CSV) or detections (npz)

    @property
    def conda_env(self) -> str:
        return self.environment or self.name

    @property
    def train_rule(self) -> str:
        return f"train_{self.name}"

    @property
    def evaluate_rule(self) -> str:
        return f"evaluate_{self.name}"

    def cache_params(self, preprocessing: dict):
        """A run's cache parameters: its ``preprocessing`` block's preset with the block's other keys over it."""
        block = dict(preprocessing)
        return replace(self.presets[block.pop("preset")], **block)


FAMILIES = {
    family.name: family
    for family in (
        Family(name="aegnn", title="AEGNN", cache_kind="graphs", params_type=GraphParams, presets=GRAPH_PRESETS,
               cache_builder="evrepro.graphs.store:build_graph_store", cache_threads=True,
               trainer_module="evrepro.aegnn.family", checkpoint_suffix=".pt", asynchronous=True, colour=0),
        Family(name="ecn", title="ECN", cache_kind="streams", params_type=StreamParams, presets=STREAM_PRESETS,
               cache_builder="evrepro.streams.store:build_stream_store", cache_threads=False,
               trainer_module="evrepro.ecn.family", checkpoint_suffix=".npz", asynchronous=False, colour=3),
        Family(name="aegnn_detection", title="AEGNN detection", cache_kind="detection_graphs",
               params_type=DetectionGraphParams, presets=DETECTION_GRAPH_PRESETS,
               cache_builder="evrepro.graphs.detection_store:build_detection_graph_store", cache_threads=True,
               trainer_module="evrepro.aegnn.detection_family", checkpoint_suffix=".pt", asynchronous=True,
               colour=5, task="detection", environment="aegnn", evaluation="detections"),
    )
}


def family(name: str) -> Family:
    """The family a run's ``family`` names; an unknown one is refused in one line."""
    if name not in FAMILIES:
        raise ConfigError(f"family {name!r} is none of the model families ({', '.join(FAMILIES)})")
    return FAMILIES[name]


def trainer(name: str):
    """The family's ``training.stages.Trainer``, importing its framework (and only its)."""
    return importlib.import_module(family(name).trainer_module).TRAINER


def cache_builder(name: str):
    """The function that builds the family's cache (importing what building needs, numba included)."""
    module, function = family(name).cache_builder.split(":")
    return getattr(importlib.import_module(module), function)
