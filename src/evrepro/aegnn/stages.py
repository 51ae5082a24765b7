"""The AEGNN stages of the workflow: train one run × seed, evaluate it."""

from dataclasses import asdict

from evrepro.aegnn.evaluate import evaluate_run
from evrepro.aegnn.graph_res import GraphResConfig
from evrepro.aegnn.presets import network_options
from evrepro.aegnn.train import TrainConfig, epochs_done, train_run
from evrepro.graphs.store import GraphStore
from evrepro.run_folder import RunFolder, training_identity
from evrepro.runs import write_resolved_config


def model_config(graphs_path, network_block: dict) -> GraphResConfig:
    """GraphRes configuration: the run's network block plus the facts of the dataset and its graphs."""
    with GraphStore(graphs_path) as store:
        return GraphResConfig(num_classes=len(store.class_names), sensor_size=store.sensor_size,
                              edge_scale=store.params.radius, **network_options(network_block))


def train_stage(graphs_path, run_dir, name: str, run: dict, seed: int, progress: bool = True,
                threads: int | None = None) -> None:
    """Write the resolved config of run × seed, then train it: resumed, restored or anew (``RunFolder.claim``)."""
    config = model_config(graphs_path, run["network"])
    training = TrainConfig(**run["training"])
    identity = training_identity("aegnn", run["dataset"], seed, graphs_path, config.as_dict(), asdict(training))
    RunFolder(run_dir).claim(identity, epochs_done)
    with GraphStore(graphs_path) as store:
        preprocessing = store.params.as_dict()
    write_resolved_config(run_dir, run=name, model="aegnn", dataset=run["dataset"], seed=seed,
                          preprocessing=preprocessing, network=config.as_dict(), training=asdict(training))
    train_run(graphs_path, run_dir, config, training, seed, progress, threads)


def evaluate_stage(graphs_path, run_dir, threads: int | None = None) -> dict:
    """Test metrics of the run's best checkpoint."""
    with GraphStore(graphs_path) as store:
        class_names = store.class_names
    return evaluate_run(graphs_path, run_dir, class_names, threads=threads)
