"""AEGNN as the shared stages see it (``evrepro.training.stages.Trainer``): GraphRes on a graph cache."""

from evrepro.aegnn.evaluate import load_best, predict
from evrepro.aegnn.presets import GraphResConfig, network_options
from evrepro.aegnn.train import TrainConfig, epochs_done, train_run
from evrepro.graphs.store import GraphStore
from evrepro.training.stages import Trainer


def model_config(cache_path, network_block: dict) -> GraphResConfig:
    """GraphRes configuration: the run's network block plus the facts of the dataset and its graphs."""
    with GraphStore(cache_path) as store:
        return GraphResConfig(num_classes=len(store.class_names), sensor_size=store.sensor_size,
                              edge_scale=store.params.radius, **network_options(network_block))


TRAINER = Trainer(name="aegnn", architecture="GraphRes", checkpoint_format="torch/1", store=GraphStore,
                 train_config=TrainConfig, model_config=model_config, epochs_done=epochs_done, train=train_run,
                 load_best=load_best, predict=predict)
