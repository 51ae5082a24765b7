"""AEGNN's detection model: GraphRes's backbone with a YOLO grid head (``evrepro.aegnn.yolo`` reads its outputs)."""

from dataclasses import replace

import torch
from torch import Tensor

from evrepro.aegnn.graph_res import GraphRes
from evrepro.aegnn.presets import DetectorConfig
from evrepro.aegnn.yolo import YoloGrid


def yolo_grid(config: DetectorConfig) -> YoloGrid:
    """The grid, classes, sensor and loss weights of a detector's head."""
    return YoloGrid(num_classes=config.num_classes, sensor_size=config.backbone.sensor_size, cells=config.cells,
                    coord_weight=config.coord_weight, noobj_weight=config.noobj_weight,
                    class_weight=config.class_weight)


def cell_index(pos: Tensor, grid: YoloGrid) -> Tensor:
    """Cell of each position in the head's grid, row-major (row · columns + column)."""
    columns, rows = grid.cells
    width, height = grid.cell_size
    column = (pos[:, 0] / width).floor().long().clamp(0, columns - 1)
    row = (pos[:, 1] / height).floor().long().clamp(0, rows - 1)
    return row * columns + column


def cell_max_pool(x: Tensor, pos: Tensor, batch: Tensor, num_graphs: int, grid: YoloGrid) -> Tensor:
    """Max features per grid cell, (graphs, rows, columns, C); empty cells 0."""
    columns, rows = grid.cells
    slot = batch * (rows * columns) + cell_index(pos, grid)
    out = x.new_full((num_graphs * rows * columns, x.shape[1]), float("-inf")).scatter_reduce(
        0, slot[:, None].expand_as(x), x, reduce="amax", include_self=True)
    out = torch.where(torch.isinf(out), torch.zeros_like(out), out)
    return out.view(num_graphs, rows, columns, x.shape[1])


def neighbourhoods(cells: Tensor) -> Tensor:
    """Each cell's features beside those of its 8 neighbours (0 beyond the border): (graphs, rows, columns, 9·C)."""
    rows, columns = cells.shape[1:3]
    padded = torch.nn.functional.pad(cells, (0, 0, 1, 1, 1, 1))
    return torch.cat([padded[:, dy : dy + rows, dx : dx + columns] for dy in range(3) for dx in range(3)], dim=-1)


class GraphResDetector(GraphRes):
    """GraphRes's backbone and a YOLO grid head; ``forward`` returns the head's raw outputs (graphs, grid outputs)."""

    def __init__(self, config: DetectorConfig):
        self.grid = yolo_grid(config)
        self.detector_config = config
        super().__init__(replace(config.backbone, num_classes=self.grid.outputs))
        self.head_kind = config.head
        if config.head == "grid":
            self.head = torch.nn.Linear(9 * config.backbone.channels[-1], 5 + config.num_classes,
                                        bias=config.backbone.fc_bias)

    def forward(self, x: Tensor, pos: Tensor, edge_index: Tensor, batch: Tensor, num_graphs: int,
                return_layers: bool = False):
        if self.head_kind == "original":
            return super().forward(x, pos, edge_index, batch, num_graphs, return_layers)
        layers = {}
        x, pos, batch = self.backbone(x, pos, edge_index, batch, layers)
        cells = layers["pool7"] = cell_max_pool(x, pos, batch, num_graphs, self.grid)
        raw = layers["head"] = self.head(neighbourhoods(cells)).flatten(1)
        return (raw, layers) if return_layers else raw
