# Config helpers shared by the workflow files: dataset lists, per-job parameters and the target list.

DATASETS = list(config["datasets"])
TRAINABLE_MODELS = []  # model families this version can train (none yet)


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


def all_targets():
    return [
        *expand("results/events/{dataset}.h5", dataset=DATASETS),
        "results/tables/datasets.csv",
        *expand("results/figures/{dataset}_samples.png", dataset=DATASETS),
    ]


check_runs()
