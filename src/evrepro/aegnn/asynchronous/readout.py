"""The engine's last two layers: a max-pool of the coarse nodes per cell of a fixed grid, then the head, both
updated from what changed.

``CellPool`` keeps each coarse node's cell and each cell's members, and recomputes the cells of changed or moved
coarse nodes. Two heads follow it, each adding the change of its inputs to its outputs (biases are constant, so
the outputs start at the bias):

- ``FlatHead``, GraphRes's linear layer on every cell's features (4×4 grid; also the detector's ``original``
  head): y += W[:, j]·Δ_j for every changed input j;
- ``NeighbourhoodHead``, the detector's ``grid`` head (each cell's outputs from its 3×3 neighbourhood of cells,
  weights shared by all cells): the outputs of each cell that sees a changed cell c at offset k get W_k·Δ_c.

``readout_for`` picks the pair a model uses.
"""

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from evrepro.aegnn import flops
from evrepro.aegnn.asynchronous.layers import index_tensor, max_rows
from evrepro.aegnn.detector import GraphResDetector, cell_index
from evrepro.aegnn.graph_res import GraphRes, grid_cells
from evrepro.aegnn.presets import GRID_CELLS


class CellPool:
    """Max of the coarse nodes' features per cell of a fixed grid (empty cells 0), kept up to date."""

    def __init__(self, cells: int, channels: int, cell_of: Callable[[np.ndarray], np.ndarray], device):
        self.cell_of = cell_of  # coarse positions (m, >= 2) -> their cells
        self.features = torch.zeros(cells, channels, device=device)
        self.cell_of_node = np.zeros(0, dtype=np.int64)
        self.members: list[set[int]] = [set() for _ in range(cells)]

    @property
    def occupied(self) -> int:
        return sum(1 for members in self.members if members)

    def update(self, pos: np.ndarray, moved: np.ndarray, changed: np.ndarray, values: Tensor):
        """Move the ``moved`` coarse nodes (``pos``: every coarse position) to their cells, recompute the cells they
        left or entered and those of the ``changed`` nodes from ``values`` (every coarse node's features).

        Returns (cells recomputed, the change of their features (cells, C), FLOPs of the max-pool)."""
        if self.cell_of_node.size < pos.shape[0]:
            self.cell_of_node = np.concatenate([self.cell_of_node, np.full(pos.shape[0] - self.cell_of_node.size, -1)])
        cells = set()
        for node, cell in zip(moved.tolist(), self.cell_of(pos[moved]).tolist()):
            old = self.cell_of_node[node]
            if old != cell:
                if old >= 0:
                    self.members[old].discard(node)
                    cells.add(int(old))
                self.members[cell].add(node)
                self.cell_of_node[node] = cell
                cells.add(cell)
        cells.update(self.cell_of_node[changed].tolist())
        cells = sorted(cells)
        occupied = [c for c in cells if self.members[c]]
        members = [np.fromiter(self.members[c], dtype=np.int64) for c in occupied]
        new = torch.zeros(len(cells), self.features.shape[1], device=self.features.device)
        if members:
            position = {c: i for i, c in enumerate(cells)}
            new[[position[c] for c in occupied]] = max_rows(values, members)
        index = index_tensor(np.asarray(cells, dtype=np.int64), self.features.device)
        delta = new - self.features[index]
        self.features[index] = new
        return index, delta, flops.max_pool(sum(m.size for m in members), len(members), self.features.shape[1])


def _initial_outputs(linear: torch.nn.Linear, rows: int) -> Tensor:
    bias = linear.bias.detach() if linear.bias is not None else \
        torch.zeros(linear.out_features, device=linear.weight.device)
    return bias.expand(rows, -1).clone()


class FlatHead:
    """A linear layer on the flattened cells, updated column by column."""

    def __init__(self, linear: torch.nn.Linear):
        self.linear, self.weight = linear, linear.weight.detach()
        self.outputs = _initial_outputs(linear, 1)[0]

    def update(self, cells: Tensor, delta: Tensor) -> int:
        """Add the change ``delta`` (cells, C) of ``cells``; returns its FLOPs."""
        channels = delta.shape[1]
        columns = (cells[:, None] * channels + torch.arange(channels, device=cells.device)).reshape(-1)
        delta = delta.reshape(-1)
        nonzero = delta != 0
        self.outputs += self.weight[:, columns[nonzero]] @ delta[nonzero]
        return flops.head_update(int(nonzero.sum()), self.weight.shape[0])

    def dense_flops(self) -> int:
        return flops.head_dense(self.weight.shape[1], self.weight.shape[0], self.linear.bias is not None)

    def value(self) -> Tensor:
        """As the dense model's ``head`` layer: (1, outputs)."""
        return self.outputs[None]


class NeighbourhoodHead:
    """One linear layer applied to every cell's 3×3 neighbourhood (zero beyond the border), updated per offset."""

    def __init__(self, linear: torch.nn.Linear, columns: int, rows: int):
        self.linear, self.columns, self.rows = linear, columns, rows
        out, width = linear.weight.shape
        self.blocks = linear.weight.detach().view(out, 9, width // 9)  # block dy·3 + dx: the cell at (dy-1, dx-1)
        self.outputs = _initial_outputs(linear, rows * columns)

    def update(self, cells: Tensor, delta: Tensor) -> int:
        """Add the change ``delta`` (cells, C) of ``cells`` to every cell that sees them; returns its FLOPs."""
        changed = (delta != 0).sum(dim=1)
        cost = int(changed.sum())
        row, column = cells // self.columns, cells % self.columns
        for dy in range(3):
            for dx in range(3):
                target_row, target_column = row - dy + 1, column - dx + 1
                valid = ((target_row >= 0) & (target_row < self.rows) & (target_column >= 0)
                         & (target_column < self.columns) & (changed > 0))
                if valid.any():
                    targets = target_row[valid] * self.columns + target_column[valid]
                    self.outputs.index_add_(0, targets, delta[valid] @ self.blocks[:, 3 * dy + dx].T)
                    cost += 2 * self.blocks.shape[0] * int(changed[valid].sum())
        return cost

    def dense_flops(self) -> int:
        out, width = self.linear.weight.shape
        return self.rows * self.columns * flops.head_dense(width, out, self.linear.bias is not None)

    def value(self) -> Tensor:
        """As the dense detector's ``head`` layer: (1, rows · columns · outputs), row-major over the cells."""
        return self.outputs.reshape(1, -1)


class Readout:
    """The cell pool and the head after it; ``pool_shape`` is the dense model's ``pool7`` layer's shape."""

    def __init__(self, pool: CellPool, head: FlatHead | NeighbourhoodHead, pool_shape: tuple[int, ...]):
        self.pool, self.head, self.pool_shape = pool, head, pool_shape

    def update(self, pos: np.ndarray, moved: np.ndarray, changed: np.ndarray, values: Tensor) -> dict[str, int]:
        """Recompute the cells of the changed or moved coarse nodes, then the head; FLOPs of each."""
        cells, delta, pool_cost = self.pool.update(pos, moved, changed, values)
        return {"pool7": pool_cost, "head": self.head.update(cells, delta)}

    def output(self) -> Tensor:
        """The model's output for one graph: logits, or the detector's raw grid outputs."""
        return self.head.value()[0].clone()

    def dense_flops(self, coarse_nodes: int) -> dict[str, int]:
        channels = self.pool.features.shape[1]
        return {"pool7": flops.max_pool(coarse_nodes, self.pool.occupied, channels), "head": self.head.dense_flops()}

    def layers(self) -> dict[str, Tensor]:
        return {"pool7": self.pool.features.reshape(self.pool_shape), "head": self.head.value()}


def _positions(pos: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(pos, dtype=np.float32))


def readout_for(model: GraphRes, device) -> Readout:
    """The readout of a GraphRes (4×4 grid and linear head) or of a detector with the ``grid`` head."""
    channels = model.config.channels[-1]
    if isinstance(model, GraphResDetector) and model.head_kind == "grid":
        grid = model.grid
        columns, rows = grid.cells
        pool = CellPool(rows * columns, channels, lambda pos: cell_index(_positions(pos), grid).numpy(), device)
        return Readout(pool, NeighbourhoodHead(model.head, columns, rows), (1, rows, columns, channels))
    sensor = model.config.sensor_size
    pool = CellPool(GRID_CELLS**2, channels, lambda pos: grid_cells(_positions(pos), sensor).numpy(), device)
    return Readout(pool, FlatHead(model.head), (1, GRID_CELLS**2 * channels))
