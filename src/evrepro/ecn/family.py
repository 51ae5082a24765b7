"""ECN as the shared stages see it (``evrepro.training.stages.Trainer``): the vox-pool network on a stream cache."""

from evrepro.ecn.evaluate import load_best, predict
from evrepro.ecn.presets import ECNConfig, network_options
from evrepro.ecn.train import TrainConfig, epochs_done, train_run
from evrepro.streams.store import StreamStore
from evrepro.training.stages import Trainer


def model_config(cache_path, network_block: dict) -> ECNConfig:
    """The network of a run: its network block plus the facts of the dataset and its stream cache."""
    with StreamStore(cache_path) as store:
        return ECNConfig(num_classes=len(store.class_names), level_shapes=tuple(store.shapes),
                         **network_options(network_block))


TRAINER = Trainer(name="ecn", architecture="VoxPoolNetwork", checkpoint_format="npz-by-variable-path/1",
                 store=StreamStore, train_config=TrainConfig, model_config=model_config, epochs_done=epochs_done,
                 train=train_run, load_best=load_best, predict=predict)
