# Config helpers shared by the workflow files: dataset lists, per-job parameters and the target list.

import re
from pathlib import Path

import yaml

from evrepro import layout
from evrepro.datasets.generators import GENERATORS
from evrepro.datasets.registry import get_dataset
from evrepro.training.execution import Execution
from evrepro.families import FAMILIES, family
from evrepro.report.summary import reproduction_summary
from evrepro.training.folder import training_params
from evrepro.training.record import ASYNC_FORMAT
from evrepro.caches import cache_id, cache_params, cache_path
from evrepro.storage.stored_names import stored

DATASETS = list(config["datasets"])
# the data and cache jobs go first when several are ready: they are short, each unlocks the jobs of several runs, and
# on a laptop a cache that needs both cores would otherwise wait behind a one-thread training
CACHE_PRIORITY = 10
PAPERS = list(yaml.safe_load(open(layout.PAPER_RESULTS))["papers"])  # each gets a claims table
PAPER_TABLES = [f"claims_{paper}" for paper in PAPERS] + ["cross", "flop_conventions", "summary"]
# The report's description (workflow/report/workflow.rst) sees only the config: give it the summary of the claims
# tables the last run wrote, one line per claim, under a key no config file can set (the schema refuses it).
config["_reproduction_summary"] = reproduction_summary(".", PAPERS)
# the samples figure and both families' runs need samples with labels; Gen1 has recordings with boxes
CLASSIFICATION_DATASETS = [name for name in DATASETS if get_dataset(name).task == "classification"]
RUNS = config["runs"]
# classification runs fill the runs, claims and cross tables; detection runs the detection table
CLASSIFICATION_RUNS = [name for name, run in RUNS.items() if family(run["family"]).task == "classification"]
DETECTION_RUNS = [name for name, run in RUNS.items() if family(run["family"]).task == "detection"]
# classification runs that reproduce some of the original code's behaviours (a compat list in preprocessing, network
# or training): set beside the fixed runs in the ablation table, not judged as claims; those with AEGNN's
# batch-dependent pooling (network.compat) are evaluated densely only (no exact event-by-event form)
AS_PUBLISHED_RUNS = [name for name in CLASSIFICATION_RUNS
                     if any(RUNS[name].get(block, {}).get("compat") for block in ("preprocessing", "network", "training"))]
# the runs also evaluated event by event (their family's asynchronous evaluation: AEGNN's, both tasks); their FLOPs
# meet the published ones of their task's claims
ASYNCHRONOUS_RUNS = [name for name, run in RUNS.items()
                     if family(run["family"]).asynchronous and not run.get("network", {}).get("compat")]
PAPER_TABLES += ["ablation"] if AS_PUBLISHED_RUNS else []
ASYNCHRONOUS_CLASSIFICATION_RUNS = [name for name in ASYNCHRONOUS_RUNS if name in CLASSIFICATION_RUNS]
ASYNCHRONOUS_DETECTION_RUNS = [name for name in ASYNCHRONOUS_RUNS if name in DETECTION_RUNS]
# the async captions (workflow/report/*.rst) list these runs; like the summary, under a key no config can set
config["_asynchronous_runs"] = {name: RUNS[name] for name in ASYNCHRONOUS_RUNS}


def canonical(value):
    """``value`` with every mapping's keys sorted: Snakemake compares params by their repr, so reordering
    keys in the config must not look like a change."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    return value


def check_runs():
    """Fail at start-up, naming the run, when a run cannot be carried out by this workflow."""
    for name, run in config["runs"].items():
        if run["dataset"] not in DATASETS:
            raise ValueError(
                f"config runs.{name}.dataset: {run['dataset']!r} is not configured under datasets "
                f"(configured: {', '.join(DATASETS)})"
            )
        tasks, needed = get_dataset(run["dataset"]).tasks, family(run["family"]).task
        if needed not in tasks:
            fitting = ", ".join(known.name for known in FAMILIES.values() if known.task in tasks)
            raise ValueError(
                f"config runs.{name}.dataset: {run['dataset']!r} is a {' and '.join(tasks)} dataset and family "
                f"{run['family']!r} trains {needed} runs (for {run['dataset']}: {fitting})"
            )


def check_datasets():
    """Fail at start-up, naming the dataset, when one cannot be obtained: a ``root`` that does not exist, or a dataset
    that cannot be downloaded (Gen1: registration) without one."""
    for name, dataset in config["datasets"].items():
        spec = get_dataset(name)
        if "root" in dataset and not Path(dataset["root"]).exists():
            raise ValueError(
                f"config datasets.{name}.root: {dataset['root']} does not exist (point it at your copy of {name}; "
                f"`python -m evrepro datasets {name}` says how to obtain it)"
            )
        if spec.manual and "root" not in dataset:
            raise ValueError(f"config datasets.{name}: cannot be downloaded and has no root: {spec.manual}")


def runs_of(family_name):
    """Names of the runs of one model family."""
    return [name for name, run in RUNS.items() if run["family"] == family_name]


def runs_pattern(names):
    """A wildcard constraint matching exactly these runs."""
    return "|".join(re.escape(name) for name in names) or "no-such-run"


def run_pattern(family_name):
    """A wildcard constraint matching exactly the runs of one model family."""
    return runs_pattern(runs_of(family_name))


def runs_with_cache(kind):
    """Names of the runs that train on a cache of ``kind`` (graphs, streams)."""
    return [name for name, run in RUNS.items() if family(run["family"]).cache_kind == kind]


def fetch_params(wildcards):
    """What decides a dataset's archives: the generator block or the local copy (downloads are pinned by
    their checksums, so a new mirror URL changes nothing)."""
    block, spec = config["datasets"][wildcards.dataset], get_dataset(wildcards.dataset)
    generator = stored(GENERATORS[spec.generator].params(block["generator"])) if spec.generator else {}
    return canonical({"generator": generator, "root": block.get("root")})


EVENTS_KEYS = ("val_fraction", "split_seed", "test_fraction", "scale")


def events_params(wildcards):
    """What decides a dataset's events store besides its archives: the split and layout options."""
    block = config["datasets"][wildcards.dataset]
    return {key: block[key] for key in EVENTS_KEYS if key in block}


def cache_params_by_id(kind):
    """Every cache of one kind the runs need: {prep id: preprocessing parameters}."""
    return {cache_id(cache_params(RUNS[name])): stored(cache_params(RUNS[name])) for name in runs_with_cache(kind)}


def run_cache(wildcards):
    """The cache (graphs or streams) a run trains on."""
    return cache_path(RUNS[wildcards.run])


def run_best_checkpoint(wildcards):
    """The best checkpoint of a run × seed, named by its family's checkpoint format."""
    return layout.fill(layout.best_checkpoint(family(RUNS[wildcards.run]["family"]).checkpoint_suffix),
                       run=wildcards.run, seed=wildcards.seed)


def caches_of_kind(kind):
    """(dataset, prep id) of every cache of one kind (AEGNN's graphs, ECN's streams), once each."""
    return sorted({(RUNS[name]["dataset"], cache_id(cache_params(RUNS[name]))) for name in runs_with_cache(kind)})


def train_params(wildcards):
    """What decides a run × seed's training besides its cache (evrepro.training.folder.training_params)."""
    return canonical(training_params(RUNS[wildcards.run]))


def run_execution(wildcards) -> Execution:
    """How a run's jobs execute (its ``execution`` block): never part of a job's params, so editing it reruns nothing."""
    run = RUNS[wildcards.run]
    return Execution.of(run.get("execution"), run["family"])


def run_threads(job):
    """The threads of a run's ``job`` (train or evaluate), from its execution block."""
    return lambda wildcards: run_execution(wildcards).job_threads(job)


def run_priority(wildcards) -> int:
    """The Snakemake priority of a run's training, from its execution block."""
    return run_execution(wildcards).priority


def run_resource(job, name, default=None):
    """One SLURM resource of a run's ``job`` from its execution block (``default`` where the block has none)."""

    def resource(wildcards):
        value = run_execution(wildcards).resources(job).get(name)
        return default if value is None else value

    return resource


def run_conda_env(wildcards):
    """The conda environment of a run's jobs under ``--sdm conda``: its family's, the GPU variant when it has GPUs."""
    name = family(RUNS[wildcards.run]["family"]).conda_env
    return f"../../envs/{name}{'-gpu' if run_execution(wildcards).gpus else ''}.yaml"


def async_eval_resource(name):
    """One resource of a run's async_eval job: its evaluation's, without a GPU when ``async_eval.device`` is cpu."""
    if config["async_eval"]["device"] == "cpu" and name in ("gpu", "gpu_model"):
        return 0 if name == "gpu" else None
    return run_resource("evaluate", name)


def run_datasets():
    """The dataset of each run, which the tables show beside what its run records hold."""
    return {name: run["dataset"] for name, run in sorted(RUNS.items())}


def run_files(template, runs=None):
    """``template`` (a layout.RUN path) for every run × seed, or those of the named runs."""
    return [
        layout.fill(template, run=name, seed=seed)
        for name, run in RUNS.items()
        if runs is None or name in runs
        for seed in run["seeds"]
    ]


def cache_benchmarks():
    """{benchmark file of each cache job: the runs that train on that cache}."""
    users = {}
    for name, run in RUNS.items():
        job = layout.fill(layout.CACHE_JOB, dataset=run["dataset"], prep=cache_id(cache_params(run)))
        users.setdefault(layout.job_file(layout.BENCHMARK, family(run["family"]).cache_kind, job), []).append(name)
    return users


def run_benchmarks(rule, runs=None):
    """The benchmark file of ``rule``'s job for every run × seed (of the named runs)."""
    return run_files(layout.job_file(layout.BENCHMARK, rule, layout.RUN_JOB), runs)


def all_targets():
    targets = [
        *expand(layout.EVENTS, dataset=DATASETS),
        layout.fill(layout.TABLE, name="datasets"),
        *expand(layout.SAMPLES_FIGURE, dataset=CLASSIFICATION_DATASETS),
    ]
    if RUNS:
        targets += run_files(layout.METRICS)
        targets.append(layout.fill(layout.TABLE, name="compute"))
    if CLASSIFICATION_RUNS:
        targets += [layout.fill(layout.TABLE, name=name) for name in ("runs", *PAPER_TABLES)]
        targets += [layout.fill(layout.FIGURE, name=name) for name in ("training_curves", "accuracy_vs_mflops")]
    if DETECTION_RUNS:
        targets += [layout.fill(layout.TABLE, name=name) for name in ("detection", "detection_claims")]
        targets += run_files(layout.DETECTION_FIGURE, DETECTION_RUNS)
    if ASYNCHRONOUS_RUNS:
        targets += run_files(layout.ASYNC, ASYNCHRONOUS_RUNS)
        targets += [layout.fill(layout.TABLE, name="async"), layout.fill(layout.FIGURE, name="async_flops_per_layer"),
                    layout.fill(layout.FIGURE, name="score_vs_events")]
    for dataset, prep in caches_of_kind("streams"):
        targets += [layout.fill(layout.STREAM_FIGURE, dataset=dataset, prep=prep, figure=figure)
                    for figure in ("levels", "neighbourhood")]
    for dataset, prep in caches_of_kind("graphs"):
        targets.append(layout.fill(layout.GRAPH_FIGURE, dataset=dataset, prep=prep))
    return targets


check_runs()
check_datasets()
