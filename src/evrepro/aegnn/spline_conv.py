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
    corners = torch.tensor(list(itertools.product((0, 1), repeat=dim)), device=pseudo.device)  # (2^dim, dim)
    factors = torch.where(corners.bool(), frac[:, None, :], 1 - frac[:, None, :])
    strides = kernel_size ** torch.arange(dim, device=pseudo.device)
    return factors.prod(dim=2), ((lower.long()[:, None, :] + corners) * strides).sum(dim=2)


class SplineGraph(NamedTuple):
    """A graph prepared for spline convolutions of one kernel size (``spline_graph``).

    Rows are the (target i, kernel cell k) pairs that edges reach, grouped by cell in tiles of ``tile``
    rows (a tile holds rows of one cell only; unused rows are zero). ``gather`` (rows × N, sparse CSR)
    takes the basis-weighted mean of source features into each row, ``scatter`` is its transpose for
    the backward pass; ``row_target`` is each row's node and ``tile_cell`` each tile's kernel cell.
    """

    gather: Tensor
    scatter: Tensor
    row_target: Tensor
    tile_cell: Tensor
    tile: int


TILE_ROWS = 64  # rows of one kernel cell per batched product, at most
CHUNK_ELEMENTS = 1 << 22  # elements of the products and kernels held at once per chunk of tiles


def _csr(crow: Tensor, col: Tensor, values: Tensor, size: tuple[int, int]) -> Tensor:
    with warnings.catch_warnings():  # torch calls its sparse CSR support beta, here only, once per process
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(crow, col, values, size=size, check_invariants=False)  # valid by construction


def spline_graph(edge_index: Tensor, pseudo: Tensor, num_nodes: int, kernel_size: int,
                 trim: bool | None = None) -> SplineGraph:
    """The ``SplineGraph`` of edges ``edge_index`` (row 0 source j, row 1 target i) with ``pseudo`` in [0, 1].

    Each edge contributes 2^dim (basis value / in-degree of its target, cell) pairs; pairs of the same
    target and cell share one row. Torch operations on the tensors' device only, every shape fixed by
    E, N and the kernel: rows are laid out up to their bound min(E · 2^dim, N · cells), so nothing
    waits for the host. ``trim`` drops the unused tiles by reading their count, which only costs
    nothing on the CPU: the default trims there and nowhere else. Indices are int32 where they fit.
    """
    basis, cell = open_bspline_basis(pseudo.detach(), kernel_size)
    cells = kernel_size ** pseudo.shape[1]
    corners = basis.shape[1]
    device = pseudo.device
    source, target = edge_index.detach()
    pairs = basis.numel()
    max_rows = min(pairs, num_nodes * cells)
    tile = max(1, min(TILE_ROWS, max_rows // cells))
    tiles = (max_rows + cells * (tile - 1)) // tile  # sum over cells of ceil(rows / tile) never exceeds this
    small = max(pairs, num_nodes * cells, tiles * tile + 1) < 2**31
    index = torch.int32 if small else torch.int64
    degree = torch.zeros(num_nodes, dtype=basis.dtype, device=device).index_add_(
        0, target, torch.ones(target.shape, dtype=basis.dtype, device=device)).clamp_(min=1)
    key, order = torch.sort((cell * num_nodes + target[:, None]).reshape(-1).to(index), stable=True)
    new_row = torch.ones(pairs, dtype=index, device=device)
    new_row[1:] = key[1:] != key[:-1]
    cell = key // num_nodes  # of each pair, in (cell, target) order
    rows_per_cell = torch.zeros(cells, dtype=index, device=device).index_add_(0, cell, new_row)
    tiles_per_cell = (rows_per_cell + tile - 1) // tile
    tile_end = tiles_per_cell.cumsum(0, dtype=index)
    if trim is None:
        trim = device.type == "cpu"
    if trim:
        tiles = int(tile_end[-1])
    padded = tiles * tile
    # slot = the pair's row in (cell, target) order, moved to its cell's first tile
    slot = ((tile_end - tiles_per_cell) * tile - rows_per_cell.cumsum(0, dtype=index) + rows_per_cell)[cell]
    slot += new_row.cumsum(0, dtype=index) - 1
    pair_source = source.to(index)[order // corners]
    pair_weight = (basis / degree[target, None]).reshape(-1)[order]
    row_target = torch.zeros(padded, dtype=index, device=device).scatter_(0, slot.long(), key % num_nodes)
    by_source = torch.sort(pair_source, stable=True)
    steps = {"dtype": index, "device": device}
    gather = _csr(torch.searchsorted(slot, torch.arange(padded + 1, **steps), out_int32=small),
                  pair_source, pair_weight, (padded, num_nodes))
    scatter = _csr(torch.searchsorted(by_source.values, torch.arange(num_nodes + 1, **steps), out_int32=small),
                   slot[by_source.indices], pair_weight[by_source.indices], (num_nodes, padded))
    tile_cell = torch.searchsorted(tile_end, torch.arange(tiles, **steps), right=True, out_int32=small)
    return SplineGraph(gather, scatter, row_target, tile_cell.clamp_(max=cells - 1), tile)


def _chunks(graph: SplineGraph, in_channels: int, out_channels: int):
    """Consecutive tile ranges, as (row slice, tile slice), of at most CHUNK_ELEMENTS working elements."""
    per_tile = graph.tile * (in_channels + 2 * out_channels) + in_channels * out_channels
    step = max(1, CHUNK_ELEMENTS // per_tile)
    tiles = graph.tile_cell.shape[0]
    for start in range(0, tiles, step):
        stop = min(start + step, tiles)
        yield slice(start * graph.tile, stop * graph.tile), slice(start, stop)


class _SplineMessages(torch.autograd.Function):
    """out[i] = sum over rows r of node i of (gather @ x)[r] @ kernel[cell of r], with an exact backward.

    Only x and the kernel are kept for the backward pass: it recomputes ``gather @ x`` (one sparse
    product) and overwrites it, chunk by chunk, with its own gradient, so a convolution holds one
    rows × C_in buffer at a time.
    """

    @staticmethod
    def forward(ctx, x: Tensor, kernel: Tensor, graph: SplineGraph) -> Tensor:
        c_in, c_out = kernel.shape[1:]
        rows = (graph.gather @ x).view(-1, graph.tile, c_in)
        out = x.new_zeros(x.shape[0], c_out)
        for span, tiles in _chunks(graph, c_in, c_out):
            messages = torch.bmm(rows[tiles], kernel.index_select(0, graph.tile_cell[tiles]))
            out.index_add_(0, graph.row_target[span], messages.view(-1, c_out))
        ctx.save_for_backward(x, kernel)
        ctx.graph = graph
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: Tensor):
        x, kernel = ctx.saved_tensors
        graph = ctx.graph
        c_in, c_out = kernel.shape[1:]
        rows = (graph.gather @ x).view(-1, graph.tile, c_in)
        grad_kernel = torch.zeros_like(kernel) if ctx.needs_input_grad[1] else None
        for span, tiles in _chunks(graph, c_in, c_out):
            grad_messages = grad_out.index_select(0, graph.row_target[span]).view(-1, graph.tile, c_out)
            cells = graph.tile_cell[tiles]
            if grad_kernel is not None:
                grad_kernel.index_add_(0, cells, torch.bmm(rows[tiles].transpose(1, 2), grad_messages))
            # the rows' gradient replaces the rows, chunk by chunk
            rows[tiles] = torch.bmm(grad_messages, kernel.index_select(0, cells).transpose(1, 2))
        grad_x = graph.scatter @ rows.view(-1, c_in) if ctx.needs_input_grad[0] else None
        return grad_x, grad_kernel, None


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
        out = _SplineMessages.apply(x, self.weight, graph)
        if self.root is not None:
            out = out + x @ self.root
        if self.bias is not None:
            out = out + self.bias
        return out

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, dim={self.dim}, kernel_size={self.kernel_size}"
