"""Exact event-by-event GraphRes inference: each new event recomputes only what it changes.

After event k the engine's output (logits, or a detector's raw grid outputs), and every layer's output,
equal the dense ``GraphRes`` or ``GraphResDetector`` on the
graph of events 0..k (``radius_graph(pos[:k+1], r, max_neighbors)``) to float rounding.

Per event, with ``T`` the nodes whose incoming edges changed (the new node and the older nodes it
entered, evictions included) and ``X`` the nodes whose block input changed:

- a block (SplineConv -> ELU -> BatchNorm) recomputes T ∪ out-neighbours(X) ∪ X (X only with a root
  weight), from all their incoming edges; its changed outputs are those whose value differs;
- the residual adds recompute the nodes where either summand changed;
- the voxel max-pool recomputes the voxels of changed nodes from all their members; the new node's
  voxel gets a new mean position, which changes the attributes of every pooled edge at it, so its
  coarse node and all that node's out-neighbours are recomputed by conv6 and conv7, as are the
  targets of pooled edges that appeared or vanished;
- the grid max-pool (GraphRes's 4×4 grid, or the detector's 8×6 cells) recomputes the cells of changed
  coarse nodes and the cells a coarse node left or entered; the head adds the change of each cell to the
  outputs that read it (``readout``: GraphRes's linear head, or the detector's per-cell 3×3 head).

New rows start as NaN, so a new node always counts as changed. ``last_flops`` holds the FLOPs
(``evrepro.aegnn.flops``) of the last event, per layer; ``dense_flops()`` those of one dense pass
on the current graph.
"""

import numpy as np
import torch
from torch import Tensor

from evrepro.aegnn import flops
from evrepro.aegnn.asynchronous.graph import StreamGraph
from evrepro.aegnn.asynchronous.layers import block_rows, folded_norm, index_tensor, max_rows
from evrepro.aegnn.asynchronous.pooled import PooledGraph
from evrepro.aegnn.asynchronous.readout import readout_for
from evrepro.aegnn.graph_res import GraphRes
from evrepro.aegnn.presets import LAYERS


def _union(*parts) -> np.ndarray:
    return np.unique(np.concatenate([np.asarray(list(p) if isinstance(p, set) else p, dtype=np.int64)
                                     for p in parts]))


class AsyncGraphRes:
    """Event-by-event inference with a trained GraphRes or GraphResDetector (eval mode) on its device."""

    def __init__(self, model: GraphRes, radius: float, max_neighbors: int):
        if model.training:
            raise ValueError("AsyncGraphRes needs the model in eval mode (BatchNorm from running statistics)")
        if model.config.compat:
            raise ValueError(f"asynchronous inference needs evrepro's fixed pooling grids and scales; this model "
                             f"reproduces the original's {', '.join(model.config.compat)} (network.compat)")
        self.model, self.config = model, model.config
        self.device = next(model.parameters()).device
        self.norms = [folded_norm(norm) for norm in model.norms]
        self.graph = StreamGraph(radius, max_neighbors)
        self.pooled = PooledGraph(self.config.dim, self.config.pool_voxel, self.config.sensor_size)
        c, dim = self.config.channels, self.config.dim
        # per node of each graph level, named by the layer whose output they hold: positions (``dim`` columns),
        # the input features, each layer's output and, where a residual follows, the block's output before it
        self.level0 = {name: self._rows(0, width) for name, width in (
            ("pos", dim), ("input", c[0]), ("conv1", c[1]), ("conv2", c[2]), ("conv3", c[3]), ("conv4_block", c[4]),
            ("conv4", c[4]), ("conv5", c[5]))}
        self.level1 = {name: self._rows(0, width) for name, width in (
            ("pos", dim), ("pool5", c[5]), ("conv6", c[6]), ("conv7_block", c[7]), ("conv7", c[7]))}
        self.readout = readout_for(model, self.device)
        self.last_flops: dict[str, int] = {}

    @property
    def num_events(self) -> int:
        return self.graph.size

    def _rows(self, n: int, channels: int) -> Tensor:
        return torch.full((n, channels), float("nan"), device=self.device)

    def _reserve(self, tensors: dict[str, Tensor], needed: int) -> None:
        """Grow every tensor of a level to at least ``needed`` rows (doubling; new rows NaN)."""
        for name, tensor in tensors.items():
            if tensor.shape[0] < needed:
                extra = max(needed, 2 * tensor.shape[0], 64) - tensor.shape[0]
                tensors[name] = torch.cat([tensor, self._rows(extra, tensor.shape[1])])

    def _store(self, tensor: Tensor, rows: np.ndarray, values: Tensor) -> np.ndarray:
        """Write ``values`` into ``rows``; return the rows whose value changed."""
        index = index_tensor(rows, self.device)
        changed = (values != tensor[index]).any(dim=1)
        tensor[index] = values
        return rows[changed.cpu().numpy()]

    @staticmethod
    def _targets(graph, structural: np.ndarray, changed: np.ndarray, root: bool) -> np.ndarray:
        if structural.size == graph.size:
            return structural
        return _union(structural, graph.out_neighbors(changed.tolist()), changed if root else ())

    @torch.inference_mode()
    def step(self, pos, x) -> Tensor:
        """Process the next event: position (x, y, t') float32 and features; returns the model's output."""
        pos = np.asarray(pos, dtype=np.float32).reshape(3)
        node = self.graph.size
        self._add_rows(node + 1, pos[None], x)
        insertion = self.graph.insert(pos)
        added = np.stack([np.concatenate([insertion.sources, np.full(insertion.entered.size, node)]),
                          np.concatenate([np.full(insertion.sources.size, node), insertion.entered])])
        moved = self.pooled.add_nodes(pos[None])
        touched = self.pooled.update_edges(added, insertion.evicted)
        self._propagate(_union([node], insertion.entered), np.array([node]), moved, touched, 1)
        return self.readout.output()

    @torch.inference_mode()
    def initialise(self, pos: np.ndarray, x: np.ndarray) -> Tensor:
        """Start from a prefix of events at once: its graph and every layer computed densely."""
        if self.graph.size:
            raise RuntimeError("initialise needs a fresh engine; this one has processed events")
        pos = np.asarray(pos, dtype=np.float32).reshape(-1, 3)
        n = pos.shape[0]
        self._add_rows(n, pos, x)
        self.graph.insert_all(pos)
        moved = self.pooled.add_nodes(pos)
        touched = self.pooled.update_edges(self.graph.edge_index(), np.zeros((2, 0), dtype=np.int64))
        # every node, in a spatial order: each chunk of targets then draws on few distinct sources
        cell = np.floor(pos[:, :2] / (4 * self.graph.radius)).astype(np.int64)
        everything = np.lexsort((cell[:, 0], cell[:, 1]))
        self._propagate(everything, everything, moved, touched, n)
        return self.readout.output()

    def _add_rows(self, n: int, pos: np.ndarray, x) -> None:
        first = self.graph.size
        x = torch.as_tensor(np.asarray(x, dtype=np.float32), device=self.device).reshape(n - first, -1)
        if x.shape[1] != self.config.channels[0]:
            raise ValueError(f"event {first}: {x.shape[1]} features, the model takes {self.config.channels[0]}")
        self._reserve(self.level0, n)
        self.level0["input"][first:n] = x
        self.level0["pos"][first:n] = torch.from_numpy(pos[:, : self.config.dim]).to(self.device)

    def _propagate(self, structural: np.ndarray, changed: np.ndarray, moved: list[int], touched: set[int],
                   new_nodes: int) -> None:
        """Recompute what changed, level by level, and record the FLOPs of the work done."""
        cost = {}
        changed = self._event_level(structural, changed, cost)
        self._coarse_level(changed, moved, touched, new_nodes, cost)
        self.last_flops = {name: cost[name] for name in LAYERS}

    def _block(self, index: int, graph, inputs: Tensor, pos: Tensor, scale: float, targets: np.ndarray,
               cost: dict) -> Tensor:
        values, edges = block_rows(self.model, index, self.norms[index], inputs, pos, scale, targets, graph.in_edges)
        c, cfg = self.config.channels, self.config
        cost[f"conv{index + 1}"] = flops.spline_block(targets.size, edges, c[index], c[index + 1], cfg.dim,
                                                      cfg.root_weight, cfg.bias)
        return values

    def _residual(self, out: Tensor, block: Tensor, skip: Tensor, rows: np.ndarray, name: str, cost: dict):
        index = index_tensor(rows, self.device)
        cost[name] += flops.residual(rows.size, out.shape[1])
        return self._store(out, rows, block[index] + skip[index])

    def _event_level(self, structural: np.ndarray, changed: np.ndarray, cost: dict) -> np.ndarray:
        """conv1-conv5 on the event graph; returns the nodes whose conv5 output changed."""
        cfg, state = self.config, self.level0
        inputs = (state["input"], state["conv1"], state["conv2"], state["conv3"], state["conv4"])
        outputs = ("conv1", "conv2", "conv3", "conv4_block", "conv5")  # conv4's block, before its residual
        for i in range(5):
            targets = self._targets(self.graph, structural, changed, cfg.root_weight)
            values = self._block(i, self.graph, inputs[i], state["pos"], cfg.edge_scale, targets, cost)
            changed = self._store(state[outputs[i]], targets, values)
            if i == 1:
                changed_skip = changed
            if i == 3:
                changed = self._residual(state["conv4"], state["conv4_block"], state["conv2"],
                                         _union(changed, changed_skip), "conv4", cost)
        return changed

    def _coarse_level(self, changed: np.ndarray, moved: list[int], touched: set[int], new_nodes: int,
                      cost: dict) -> None:
        """Voxel pool, conv6, conv7, grid pool and head, from the event nodes whose conv5 output changed."""
        cfg, pooled, state = self.config, self.pooled, self.level1
        self._reserve(state, pooled.size)
        affected = np.unique(pooled.coarse_of_node[changed])
        members = [np.asarray(pooled.members[v]) for v in affected.tolist()]
        cost["pool5"] = (flops.max_pool(sum(m.size for m in members), len(members), cfg.channels[5])
                         + flops.mean_positions(new_nodes, len(moved), cfg.dim))
        changed = self._store(state["pool5"], affected, max_rows(self.level0["conv5"], members)) \
            if members else affected
        changed_skip = changed

        moved = np.asarray(moved, dtype=np.int64)
        state["pos"][index_tensor(moved, self.device)] = torch.from_numpy(pooled.pos[moved]).to(self.device)
        structural = _union(touched, moved, pooled.out_neighbors(moved.tolist()))
        for i, name in ((5, "conv6"), (6, "conv7_block")):
            targets = self._targets(pooled, structural, changed, cfg.root_weight)
            values = self._block(i, pooled, state["pool5"] if i == 5 else state["conv6"], state["pos"],
                                 cfg.pooled_scale, targets, cost)
            changed = self._store(state[name], targets, values)
        changed = self._residual(state["conv7"], state["conv7_block"], state["pool5"], _union(changed, changed_skip),
                                 "conv7", cost)
        cost.update(self.readout.update(pooled.pos, moved, changed, state["conv7"]))

    def dense_flops(self) -> dict[str, int]:
        """FLOPs per layer of one dense pass on the current graph."""
        size = flops.GraphSize(self.graph.size, self.graph.num_edges, self.pooled.size, self.pooled.num_edges,
                               self.readout.pool.occupied)
        return {**flops.backbone_flops(self.config, size), **self.readout.dense_flops(self.pooled.size)}

    def layers(self) -> dict[str, Tensor]:
        """Every layer's current output, in the dense model's node order (``forward(return_layers=True)``)."""
        n, order = self.graph.size, index_tensor(self.pooled.dense_order(), self.device)
        out = {name: self.level0[name][:n] for name in ("conv1", "conv2", "conv3", "conv4", "conv5")}
        out.update({name: self.level1[name][order] for name in ("pool5", "conv6", "conv7")})
        out.update(self.readout.layers())
        return {name: value.clone() for name, value in out.items()}
