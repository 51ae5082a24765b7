"""GraphRes, AEGNN's recognition network (Schaefer et al., CVPR 2022), without its batch dependence.

conv1-conv7 are SplineConvs, each followed by ELU and then BatchNorm. Skips: the output of block 2 is
added after block 4, the output of the voxel pool after block 7. After block 5, a voxel max-pool on
(x, y) with a fixed grid origin at (0, 0); after block 7, a max-pool over a fixed 4×4 grid of the
sensor; then a linear head on the 16 × C features. Edge attributes are Cartesian with fixed scales:
the graph radius before the voxel pool and ``pooled_edge_scale`` after it.

``GraphResConfig.compat`` names the original's behaviours (``presets.NETWORK_COMPAT``) to reproduce instead, each of
which makes a sample's output depend on the batch around it: the pooled edges scaled by the batch's largest offset, the
origins at the batch's smallest position, the final grid numbered over the batch's extent.
"""

import torch
from torch import Tensor

from evrepro.aegnn.presets import GRID_CELLS, GraphResConfig
from evrepro.aegnn.spline_conv import SplineConv, SplineGraph, cartesian_pseudo, spline_graph


def voxel_clusters(pos: Tensor, batch: Tensor, voxel: tuple[float, float], sensor_size, origin=(0.0, 0.0)) -> Tensor:
    """Voxel id of each node on a fixed (x, y) grid starting at ``origin``, distinct per graph in the batch."""
    nx = int(-(-sensor_size[0] // voxel[0]))
    ny = int(-(-sensor_size[1] // voxel[1]))
    cx = ((pos[:, 0] - origin[0]) / voxel[0]).floor().long().clamp(0, nx - 1)
    cy = ((pos[:, 1] - origin[1]) / voxel[1]).floor().long().clamp(0, ny - 1)
    return batch * (nx * ny) + cy * nx + cx


def voxel_max_pool(x: Tensor, pos: Tensor, edge_index: Tensor, batch: Tensor, voxel, sensor_size,
                   origin=(0.0, 0.0)):
    """Max features and mean positions per occupied voxel; edges between distinct voxels, deduplicated."""
    cluster = voxel_clusters(pos, batch, voxel, sensor_size, origin)
    unique, inverse = torch.unique(cluster, return_inverse=True)
    n = unique.numel()
    pooled_x = x.new_full((n, x.shape[1]), float("-inf")).scatter_reduce(
        0, inverse[:, None].expand_as(x), x, reduce="amax", include_self=True)
    pooled_pos = pos.new_zeros((n, pos.shape[1])).index_add(0, inverse, pos)
    pooled_pos = pooled_pos / torch.bincount(inverse, minlength=n)[:, None].to(pos.dtype)
    coarse = inverse[edge_index]
    coarse = coarse[:, coarse[0] != coarse[1]]
    coarse = torch.unique(coarse[1] * n + coarse[0])  # sorted by target, then source
    pooled_edges = torch.stack([coarse % n, coarse // n])
    pooled_batch = batch.new_zeros(n).scatter_(0, inverse, batch)
    return pooled_x, pooled_pos, pooled_edges, pooled_batch


def _grid_coordinates(pos: Tensor, sensor_size, origin) -> tuple[Tensor, Tensor]:
    """Column and row of each position in the 4×4 grid over the sensor, counted from ``origin``."""
    cell = (sensor_size[0] / GRID_CELLS, sensor_size[1] / GRID_CELLS)
    cx = ((pos[:, 0] - origin[0]) / cell[0]).floor().long().clamp(0, GRID_CELLS - 1)
    cy = ((pos[:, 1] - origin[1]) / cell[1]).floor().long().clamp(0, GRID_CELLS - 1)
    return cx, cy


def grid_cells(pos: Tensor, sensor_size, origin=(0.0, 0.0)) -> Tensor:
    """Cell of each position in the fixed 4×4 grid over the sensor from ``origin``, row-major (cy · 4 + cx)."""
    cx, cy = _grid_coordinates(pos, sensor_size, origin)
    return cy * GRID_CELLS + cx


def extent_slots(pos: Tensor, batch: Tensor, sensor_size, origin) -> Tensor:
    """The original's slots for the final pool (its ``voxel_grid`` over the batch): cx + nx·cy + nx·ny·graph, with
    nx × ny the cells the batch's positions span from ``origin``. With fewer than 4 × 4, a graph's cells are packed
    into fewer rows and the next graph's spill into its 16 slots: the bug the fixed grid fixes."""
    cx, cy = _grid_coordinates(pos, sensor_size, origin)
    nx, ny = (int(c.max()) + 1 if c.numel() else 1 for c in (cx, cy))
    return cx + nx * cy + nx * ny * batch


def grid_max_pool(x: Tensor, pos: Tensor, batch: Tensor, num_graphs: int, sensor_size, origin=(0.0, 0.0),
                  by_extent: bool = False) -> Tensor:
    """Max features per cell of a fixed 4×4 grid over the sensor: (graphs, 16 × C), empty cells 0.

    ``by_extent``: the original's slots instead (``extent_slots``)."""
    if by_extent:
        slot = extent_slots(pos, batch, sensor_size, origin)
    else:
        slot = batch * GRID_CELLS**2 + grid_cells(pos, sensor_size, origin)
    out = x.new_full((num_graphs * GRID_CELLS**2, x.shape[1]), float("-inf")).scatter_reduce(
        0, slot[:, None].expand_as(x), x, reduce="amax", include_self=True)
    out = torch.where(torch.isinf(out), torch.zeros_like(out), out)
    return out.view(num_graphs, GRID_CELLS**2 * x.shape[1])


class GraphRes(torch.nn.Module):
    """The recognition network; ``forward`` returns logits and, on request, every layer's output."""

    def __init__(self, config: GraphResConfig):
        super().__init__()
        self.config = config
        c = config.channels
        self.convs = torch.nn.ModuleList(
            SplineConv(c[i], c[i + 1], config.dim, config.kernel_size, config.root_weight, config.bias)
            for i in range(7))
        self.norms = torch.nn.ModuleList(torch.nn.BatchNorm1d(c[i + 1]) for i in range(7))
        self.head = torch.nn.Linear(GRID_CELLS**2 * c[7], config.num_classes, bias=config.fc_bias)

    def block(self, i: int, x: Tensor, graph: SplineGraph) -> Tensor:
        return self.norms[i](torch.nn.functional.elu(self.convs[i](x, graph)))

    def spline_graph(self, pos: Tensor, edge_index: Tensor, scale: float) -> SplineGraph:
        """One graph level prepared for spline convolutions, shared by all its convolutions."""
        pseudo = cartesian_pseudo(pos, edge_index, scale)
        return spline_graph(edge_index, pseudo, pos.shape[0], self.config.kernel_size)

    def pooled_attribute_scale(self, pos: Tensor, edge_index: Tensor) -> float:
        """The scale of the pooled edges' attributes: fixed, or (compat) the batch's largest offset."""
        if "pooled_edge_scale" in self.config.compat and edge_index.shape[1]:
            return float((pos[edge_index[0]] - pos[edge_index[1]]).abs().max())
        return self.config.pooled_scale

    def grid_origin(self, pos: Tensor):
        """The pooling grids' origin: (0, 0), or (compat ``data_origin``) the batch's smallest (x, y)."""
        return pos[:, :2].min(dim=0).values if "data_origin" in self.config.compat else (0.0, 0.0)

    def backbone(self, x: Tensor, pos: Tensor, edge_index: Tensor, batch: Tensor, layers: dict):
        """conv1 to conv7 with the voxel pool between: the last features, their (pooled) positions and batch."""
        cfg = self.config
        pos = pos[:, : cfg.dim]
        graph = self.spline_graph(pos, edge_index, cfg.edge_scale)
        x = layers["conv1"] = self.block(0, x, graph)
        x = skip = layers["conv2"] = self.block(1, x, graph)
        x = layers["conv3"] = self.block(2, x, graph)
        x = layers["conv4"] = self.block(3, x, graph) + skip
        x = layers["conv5"] = self.block(4, x, graph)
        x, pos, edge_index, batch = voxel_max_pool(x, pos, edge_index, batch, cfg.pool_voxel, cfg.sensor_size,
                                                   self.grid_origin(pos))
        skip = layers["pool5"] = x
        graph = self.spline_graph(pos, edge_index, self.pooled_attribute_scale(pos, edge_index))
        x = layers["conv6"] = self.block(5, x, graph)
        x = layers["conv7"] = self.block(6, x, graph) + skip
        return x, pos, batch

    def forward(self, x: Tensor, pos: Tensor, edge_index: Tensor, batch: Tensor, num_graphs: int,
                return_layers: bool = False):
        layers = {}
        x, pos, batch = self.backbone(x, pos, edge_index, batch, layers)
        x = layers["pool7"] = grid_max_pool(x, pos, batch, num_graphs, self.config.sensor_size, self.grid_origin(pos),
                                            "grid_extent" in self.config.compat)
        logits = layers["head"] = self.head(x)
        return (logits, layers) if return_layers else logits
