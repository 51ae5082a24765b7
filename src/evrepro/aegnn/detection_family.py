"""AEGNN's detection model as the shared stages see it (``evrepro.training.stages.Trainer``): GraphRes with a YOLO
grid head on a detection graph cache."""

from dataclasses import dataclass

from evrepro.aegnn.evaluate import load_best, predict_detections
from evrepro.aegnn.presets import DetectorConfig, GraphResConfig, network_options
from evrepro.aegnn.train import TrainConfig, epochs_done, train_run
from evrepro.aegnn.yolo import YoloGrid
from evrepro.graphs.detection_store import DetectionGraphStore
from evrepro.training.stages import Trainer

HEAD_KEYS = ("head", "cells", "coord_weight", "noobj_weight", "class_weight")


@dataclass(frozen=True)
class DetectionTrainConfig(TrainConfig):
    """The original detection recipe (``detection.py`` at uzh-rpg/aegnn@21db12a): Adam 1e-3, weight decay 1e-4, no
    learning-rate schedule."""

    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_epochs: int = 0
    lr_decay: float = 1.0


def model_config(cache_path, network_block: dict) -> DetectorConfig:
    """The detector's configuration: the run's network block plus the facts of the dataset and its graphs."""
    block = dict(network_block)
    head = {key: block.pop(key) for key in HEAD_KEYS if key in block}
    head["cells"] = tuple(head.get("cells", (8, 6)))
    with DetectionGraphStore(cache_path) as store:
        classes, sensor_size, radius = len(store.class_names), store.sensor_size, store.params.radius
    outputs = YoloGrid(num_classes=classes, sensor_size=sensor_size, cells=head["cells"]).outputs
    backbone = GraphResConfig(num_classes=outputs, sensor_size=sensor_size, edge_scale=radius,
                              **network_options(block))
    return DetectorConfig(backbone=backbone, num_classes=classes, **head)


TRAINER = Trainer(name="aegnn_detection", architecture="GraphRes + YOLO grid", checkpoint_format="torch/1",
                  store=DetectionGraphStore, train_config=DetectionTrainConfig, model_config=model_config,
                  epochs_done=epochs_done, train=train_run, load_best=load_best, predict=predict_detections,
                  task="detection")
