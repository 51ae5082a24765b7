"""The ECN stages of the workflow: train one run × seed, evaluate it."""

from dataclasses import asdict

from evrepro.ecn.evaluate import evaluate_run
from evrepro.ecn.presets import ECNConfig, network_options
from evrepro.ecn.train import TrainConfig, epochs_done, train_run
from evrepro.run_folder import RunFolder, training_identity
from evrepro.runs import write_resolved_config
from evrepro.streams.store import StreamStore


def model_config(stream_path, network_block: dict) -> ECNConfig:
    """The network of a run: its network block plus the facts of the dataset and its stream cache."""
    with StreamStore(stream_path) as store:
        return ECNConfig(num_classes=len(store.class_names), level_shapes=tuple(store.shapes),
                         **network_options(network_block))


def train_stage(stream_path, run_dir, name: str, run: dict, seed: int, progress: bool = True,
                threads: int | None = None) -> None:
    """Write the resolved config of run × seed, then train it: resumed, restored or anew (``RunFolder.claim``)."""
    config = model_config(stream_path, run["network"])
    training = TrainConfig(**run["training"])
    identity = training_identity("ecn", run["dataset"], seed, stream_path, config.as_dict(), asdict(training))
    RunFolder(run_dir).claim(identity, epochs_done)
    with StreamStore(stream_path) as store:
        preprocessing = store.params.as_dict()
    write_resolved_config(run_dir, run=name, model="ecn", dataset=run["dataset"], seed=seed,
                          preprocessing=preprocessing, network=config.as_dict(), training=asdict(training))
    train_run(stream_path, run_dir, config, training, seed, progress, threads)


def evaluate_stage(stream_path, run_dir, threads: int | None = None) -> dict:
    """Test metrics of the run's best checkpoint."""
    with StreamStore(stream_path) as store:
        class_names = store.class_names
    return evaluate_run(stream_path, run_dir, class_names, threads=threads)
