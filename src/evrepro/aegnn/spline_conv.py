"""SplineConv with degree-1 open B-splines (Fey et al. 2018), in plain torch, on the tensors' device.

PyG's ``SplineConv`` needs the torch-spline-conv / pyg-lib backends, which PyPI does not carry. With
mean aggregation, y_i = sum_e sum_s basis_s(u_e) x_j W[cell_s(u_e)] / deg(i). Grouping the (edge, kernel
corner) pairs by (target i, cell k), y_i = sum_k r_ik W_k with rows r_ik = sum of basis · x_j / deg(i):
``spline_graph`` lays out the rows that edges reach by cell, in tiles of one cell each, with a sparse
matrix that gathers them (``SplineGraph``); the convolution computes all rows in one sparse product
and applies every tile's kernel in batched products, chunk by chunk, with a hand-written exact
backward. Memory grows with the rows (at most E · 2^dim), never with nodes × kernel cells, and
nothing leaves the device.

Pseudo-coordinates are Cartesian: ``u = (pos_source - pos_target) / (2 * scale) + 0.5`` clipped to
[0, 1], with a fixed ``scale`` (the graph radius), never the batch's largest distance.
"""

import itertools
import math
import warnings
from typing import NamedTuple

import torch
from torch import Tensor


def cartesian_pseudo(pos: Tensor, edge_index: Tensor, scale: float) -> Tensor:
    """Edge attributes in [0, 1]: the source's offset from the target, normalised by a fixed scale."""
    delta = pos[edge_index[0]] - pos[edge_index[1]]
    return (delta / (2 * scale) + 0.5).clamp(0.0, 1.0)


def open_bspline_basis(pseudo: Tensor, kernel_size: int) -> tuple[Tensor, Tensor]:
    """Degree-1 open B-spline basis: weights (E, 2**dim) and flat kernel indices (E, 2**dim).

    Along each dimension, v = u * (kernel_size - 1) falls between knots floor(v) and floor(v) + 1
    with weights 1 - frac and frac; dimension 0 varies fastest in the flat kernel index.
    """
    dim = pseudo.shape[1]
    v = pseudo * (kernel_size - 1)
    lower = v.floor().clamp(0, kernel_size - 2)
    frac = v - lower
    # corners in itertools.product order (the last dimension's 0/1 fastest): the weights are the running outer
    # product of each dimension's (1 - frac, frac), multiplied in dimension order
    weights = torch.ones_like(frac[:, :1])
    for d in range(dim):
        weights = (weights[:, :, None] * torch.stack([1 - frac[:, d], frac[:, d]], dim=1)[:, None, :]).flatten(1)
    strides = kernel_size ** torch.arange(dim, device=pseudo.device)
    corners = torch.tensor(list(itertools.product((0, 1), repeat=dim)), device=pseudo.device)  # (2^dim, dim)
    return weights, (lower.long() * strides).sum(dim=1, keepdim=True) + (corners * strides).sum(dim=1)


class Tiles(NamedTuple):
    """Rows laid out by kernel cell in tiles of ``size`` rows of one cell each (unused rows are zero)."""

    row_target: Tensor  # (tiles · size,) the node each row belongs to
    cell: Tensor  # (tiles,) the kernel cell of each tile
    size: int


class SplineGraph(NamedTuple):
    """A graph prepared for spline convolutions of one kernel size (``spline_graph``).

    Rows are (target i, kernel cell k) pairs; row r_ik is the basis-weighted mean of the features of
    the sources whose edges reach cell k of target i: ``gather`` (rows × N, sparse CSR) @ x, and
    ``scatter`` is its transpose for the backward pass. Where edges can reach every row (E · 2^dim ≥
    N · cells, as with kernel size 2), ``tiles`` is None and the rows are all N · cells, target-major,
    so y = rows.view(N, cells · C_in) @ W is one dense product. Otherwise only the rows edges reach
    are kept, laid out in ``tiles`` of one cell each, and each tile is multiplied by its own kernel.
    """

    gather: Tensor
    scatter: Tensor
    tiles: Tiles | None


TILE_ROWS = 64  # rows of one kernel cell per batched product, at most
CHUNK_ELEMENTS = 1 << 22  # elements of the products and kernels held at once per chunk of tiles


def _csr(crow: Tensor, col: Tensor, values: Tensor, size: tuple[int, int]) -> Tensor:
    with warnings.catch_warnings():  # torch calls its sparse CSR support beta, here only, once per process
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(crow, col, values, size=size, check_invariants=False)  # valid by construction


def _tiles(key: Tensor, num_nodes: int, cells: int, trim: bool) -> tuple[Tensor, Tiles]:
    """Each pair's row slot and the tile layout, from the pairs' sorted (cell · N + target) keys.

    The number of tiles is bounded by the shapes alone; ``trim`` cuts it to the tiles in use by
    reading their count.
    """
    pairs, index, device = key.numel(), key.dtype, key.device
    max_rows = min(pairs, num_nodes * cells)
    size = max(1, min(TILE_ROWS, max_rows // cells))
    new_row = torch.ones(pairs, dtype=index, device=device)
    new_row[1:] = key[1:] != key[:-1]
    cell = key // num_nodes
    rows_per_cell = torch.zeros(cells, dtype=index, device=device).index_add_(0, cell, new_row)
    tiles_per_cell = (rows_per_cell + size - 1) // size
    tile_end = tiles_per_cell.cumsum(0, dtype=index)
    # the sum over cells of ceil(rows / size) never exceeds this
    tiles = int(tile_end[-1]) if trim else (max_rows + cells * (size - 1)) // size
    # the pair's row in (cell, target) order, moved to the start of its cell's first tile
    slot = ((tile_end - tiles_per_cell) * size - rows_per_cell.cumsum(0, dtype=index) + rows_per_cell)[cell]
    slot += new_row.cumsum(0, dtype=index) - 1
    row_target = torch.zeros(tiles * size, dtype=index, device=device).scatter_(0, slot.long(), key % num_nodes)
    tile_cell = torch.searchsorted(tile_end, torch.arange(tiles, dtype=index, device=device), right=True,
                                   out_int32=index == torch.int32)
    return slot, Tiles(row_target, tile_cell.clamp_(max=cells - 1), size)


def spline_graph(edge_index: Tensor, pseudo: Tensor, num_nodes: int, kernel_size: int,
                 trim: bool | None = None) -> SplineGraph:
    """The ``SplineGraph`` of edges ``edge_index`` (row 0 source j, row 1 target i) with ``pseudo`` in [0, 1].

    Each edge contributes 2^dim (basis value / in-degree of its target, cell) pairs. Torch operations
    on the tensors' device only, every shape fixed by E, N and the kernel, so nothing waits for the
    host. ``trim`` drops unused tiles by reading their count, which costs nothing on the CPU only: the
    default trims there and nowhere else. Indices are int32 where they fit.
    """
    basis, cell = open_bspline_basis(pseudo.detach(), kernel_size)
    cells = kernel_size ** pseudo.shape[1]
    device = pseudo.device
    source, target = edge_index.detach()
    pairs = basis.numel()
    dense = num_nodes * cells <= pairs
    index = torch.int32 if 2 * max(pairs, num_nodes * cells) < 2**31 else torch.int64
    degree = torch.zeros(num_nodes, dtype=basis.dtype, device=device).index_add_(
        0, target, torch.ones(target.shape, dtype=basis.dtype, device=device)).clamp_(min=1)
    if dense:
        slot, order = torch.sort((target[:, None] * cells + cell).reshape(-1).to(index), stable=True)
        rows, tiles = num_nodes * cells, None
    else:
        key, order = torch.sort((cell * num_nodes + target[:, None]).reshape(-1).to(index), stable=True)
        slot, tiles = _tiles(key, num_nodes, cells, device.type == "cpu" if trim is None else trim)
        rows = tiles.row_target.numel()
    pair_source = source.to(index)[order // basis.shape[1]]
    pair_weight = (basis / degree[target, None]).reshape(-1)[order]
    by_source = torch.sort(pair_source, stable=True)
    steps = {"dtype": index, "device": device}
    small = index == torch.int32
    gather = _csr(torch.searchsorted(slot, torch.arange(rows + 1, **steps), out_int32=small),
                  pair_source, pair_weight, (rows, num_nodes))
    scatter = _csr(torch.searchsorted(by_source.values, torch.arange(num_nodes + 1, **steps), out_int32=small),
                   slot[by_source.indices], pair_weight[by_source.indices], (num_nodes, rows))
    return SplineGraph(gather, scatter, tiles)


class _Rows(torch.autograd.Function):
    """gather @ x, with the gradient scatter @ grad (the graph carries no gradient)."""

    @staticmethod
    def forward(ctx, graph: SplineGraph, x: Tensor) -> Tensor:
        ctx.scatter = graph.scatter
        return graph.gather @ x

    @staticmethod
    def backward(ctx, grad: Tensor):
        return None, ctx.scatter @ grad


def _chunks(tiles: Tiles, in_channels: int, out_channels: int):
    """Consecutive tile ranges, as (row slice, tile slice), of at most CHUNK_ELEMENTS working elements."""
    per_tile = tiles.size * (in_channels + 2 * out_channels) + in_channels * out_channels
    step = max(1, CHUNK_ELEMENTS // per_tile)
    count = tiles.cell.shape[0]
    for start in range(0, count, step):
        stop = min(start + step, count)
        yield slice(start * tiles.size, stop * tiles.size), slice(start, stop)


class _TiledMessages(torch.autograd.Function):
    """out[i] = sum over the rows r of node i of (gather @ x)[r] @ kernel[cell of r], with an exact backward.

    Only x and the kernel are kept for the backward pass: it recomputes ``gather @ x`` (one sparse
    product) and overwrites it, chunk by chunk, with its own gradient, so a convolution holds one
    rows × C_in buffer at a time.
    """

    @staticmethod
    def forward(ctx, x: Tensor, kernel: Tensor, graph: SplineGraph) -> Tensor:
        c_in, c_out = kernel.shape[1:]
        tiles = graph.tiles
        rows = (graph.gather @ x).view(-1, tiles.size, c_in)
        out = x.new_zeros(x.shape[0], c_out)
        for span, part in _chunks(tiles, c_in, c_out):
            messages = torch.bmm(rows[part], kernel.index_select(0, tiles.cell[part]))
            out.index_add_(0, tiles.row_target[span], messages.view(-1, c_out))
        ctx.save_for_backward(x, kernel)
        ctx.graph = graph
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: Tensor):
        x, kernel = ctx.saved_tensors
        graph, tiles = ctx.graph, ctx.graph.tiles
        c_in, c_out = kernel.shape[1:]
        rows = (graph.gather @ x).view(-1, tiles.size, c_in)
        grad_kernel = torch.zeros_like(kernel) if ctx.needs_input_grad[1] else None
        for span, part in _chunks(tiles, c_in, c_out):
            grad_messages = grad_out.index_select(0, tiles.row_target[span]).view(-1, tiles.size, c_out)
            cells = tiles.cell[part]
            if grad_kernel is not None:
                grad_kernel.index_add_(0, cells, torch.bmm(rows[part].transpose(1, 2), grad_messages))
            # the rows' gradient replaces the rows, chunk by chunk
            rows[part] = torch.bmm(grad_messages, kernel.index_select(0, cells).transpose(1, 2))
        grad_x = graph.scatter @ rows.view(-1, c_in) if ctx.needs_input_grad[0] else None
        return grad_x, grad_kernel, None


def spline_messages(x: Tensor, kernel: Tensor, graph: SplineGraph) -> Tensor:
    """The mean-aggregated spline messages (N, C_out) of features ``x`` over a prepared graph."""
    if graph.tiles is None:
        cells, c_in, c_out = kernel.shape
        return _Rows.apply(graph, x).view(x.shape[0], cells * c_in) @ kernel.reshape(cells * c_in, c_out)
    return _TiledMessages.apply(x, kernel, graph)


class SplineConv(torch.nn.Module):
    r"""Spline-based convolution (Fey et al., CVPR 2018) with degree-1 open B-splines and mean aggregation.

    .. math::
        y_i = \frac{1}{|N(i)|} \sum_{j \in N(i)} \sum_{k} B_k(u_{j \to i}) \, x_j W_k \; + \; x_i W_{root} + b

    over the kernel cells k of a ``kernel_size``\ :sup:`dim` grid, with B_k the products of the
    degree-1 open B-spline bases of the pseudo-coordinates u in [0, 1]^dim (``cartesian_pseudo``).
    Called like PyG's layer, ``conv(x, edge_index, pseudo)``; or with a ``SplineGraph`` prepared once
    per graph (``conv.prepare`` / ``spline_graph``), ``conv(x, graph)``, shared by every convolution
    on that graph with the same kernel size, as GraphRes does.

    Args:
        in_channels, out_channels: feature sizes.
        dim: pseudo-coordinate dimensions (2 or 3).
        kernel_size: knots per dimension (>= 2).
        root_weight: add ``x_i W_root``.
        bias: add ``b``.

    Shapes:
        x: (N, in_channels); edge_index: (2, E), row 0 source j, row 1 target i; pseudo: (E, dim);
        output: (N, out_channels).
    """

    def __init__(self, in_channels: int, out_channels: int, dim: int, kernel_size: int,
                 root_weight: bool = True, bias: bool = True):
        super().__init__()
        if kernel_size < 2:
            raise ValueError(f"kernel_size must be >= 2 for degree-1 open splines, got {kernel_size}")
        self.in_channels, self.out_channels, self.dim, self.kernel_size = in_channels, out_channels, dim, kernel_size
        self.cells = kernel_size**dim
        self.weight = torch.nn.Parameter(torch.empty(self.cells, in_channels, out_channels))
        self.root = torch.nn.Parameter(torch.empty(in_channels, out_channels)) if root_weight else None
        self.bias = torch.nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.in_channels * self.cells)
        torch.nn.init.uniform_(self.weight, -bound, bound)
        if self.root is not None:
            torch.nn.init.uniform_(self.root, -bound, bound)
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)

    def prepare(self, edge_index: Tensor, pseudo: Tensor, num_nodes: int, trim: bool | None = None) -> SplineGraph:
        """The ``SplineGraph`` of a graph for this convolution's kernel (reusable by its siblings)."""
        return spline_graph(edge_index, pseudo, num_nodes, self.kernel_size, trim)

    def forward(self, x: Tensor, edge_index: Tensor | SplineGraph, pseudo: Tensor | None = None) -> Tensor:
        """Convolve node features ``x`` over ``edge_index`` with ``pseudo``, or over a prepared ``SplineGraph``."""
        if isinstance(edge_index, SplineGraph):
            graph = edge_index
        elif pseudo is None:
            raise TypeError("SplineConv needs the pseudo-coordinates of the edges: conv(x, edge_index, pseudo)")
        else:
            graph = self.prepare(edge_index, pseudo, x.shape[0])
        out = spline_messages(x, self.weight, graph)
        if self.root is not None:
            out = out + x @ self.root
        if self.bias is not None:
            out = out + self.bias
        return out

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, dim={self.dim}, kernel_size={self.kernel_size}"
