# Config helpers shared by the workflow files: dataset lists, per-job parameters and the target list.

from evrepro.runs import aegnn_graph_params, graph_cache_id

DATASETS = list(config["datasets"])
RUNS = config["runs"]
TRAINABLE_MODELS = ["aegnn"]  # model families this version can train


def check_runs():
    """Fail at start-up, naming the run, when a run cannot be carried out by this workflow."""
    for name, run in config["runs"].items():
        if run["dataset"] not in DATASETS:
            raise ValueError(
                f"config runs.{name}.dataset: {run['dataset']!r} is not configured under datasets "
                f"(configured: {', '.join(DATASETS)})"
            )
        if run["model"] not in TRAINABLE_MODELS:
            raise ValueError(
                f"config runs.{name}.model: {run['model']!r} cannot be trained by this version of evrepro (training lands with the model issues)"
            )


def fetch_params(wildcards):
    """What decides a dataset's archives: the generator block, or the mirror URLs."""
    block = config["datasets"][wildcards.dataset]
    return {key: block[key] for key in ("generator", "urls") if key in block}


def split_params(wildcards):
    block = config["datasets"][wildcards.dataset]
    return {"val_fraction": block["val_fraction"], "split_seed": block["split_seed"]}


def graph_params_by_id():
    """Every graph cache the AEGNN runs need: {prep id: preprocessing parameters}."""
    caches = {}
    for run in RUNS.values():
        if run["model"] == "aegnn":
            params = aegnn_graph_params(run)
            caches[graph_cache_id(params)] = params.as_dict()
    return caches


def graph_cache(wildcards):
    """The graph cache an AEGNN run trains on."""
    run = RUNS[wildcards.run]
    return f"results/graphs/{run['dataset']}/{graph_cache_id(aegnn_graph_params(run))}.h5"


def run_seed_dirs():
    return [f"results/runs/{name}/seed-{seed}" for name, run in RUNS.items() for seed in run["seeds"]]


def all_targets():
    targets = [
        *expand("results/events/{dataset}.h5", dataset=DATASETS),
        "results/tables/datasets.csv",
        *expand("results/figures/{dataset}_samples.png", dataset=DATASETS),
    ]
    if RUNS:
        targets += [f"{folder}/metrics.json" for folder in run_seed_dirs()]
        targets += ["results/tables/runs.csv", "results/figures/training_curves.png"]
    return targets


check_runs()
