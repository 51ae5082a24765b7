"""SplineConv with degree-1 open B-splines (Fey et al. 2018), in plain torch.

PyG's ``SplineConv`` needs the torch-spline-conv / pyg-lib backends, which PyPI does not carry. Here
a node-side product ``Y = x @ W`` (N × K × C_out, K = kernel_size**dim) is followed by a gather of
each edge's 2**dim B-spline corners from Y, weighted by the basis. The gather is a custom autograd
function whose backward scatters the gradient back, so no E × 2**dim × C tensor is kept for backward.
Messages are mean-aggregated at the target node; an optional root weight and bias are added per node.

Pseudo-coordinates are Cartesian: ``u = (pos_source - pos_target) / (2 * scale) + 0.5`` clipped to
[0, 1], with a fixed ``scale`` (the graph radius), never the batch's largest distance.
"""

import itertools
import math

import torch
from torch import Tensor
from torch_geometric.nn import MessagePassing

CHUNK_EDGES = 1 << 16


def cartesian_pseudo(pos: Tensor, edge_index: Tensor, scale: float) -> Tensor:
    """Edge attributes in [0, 1]: the source's offset from the target, normalised by a fixed scale."""
    delta = pos[edge_index[0]] - pos[edge_index[1]]
    return (delta / (2 * scale) + 0.5).clamp(0.0, 1.0)


def open_bspline_basis(pseudo: Tensor, kernel_size: int) -> tuple[Tensor, Tensor]:
    """Degree-1 open B-spline basis: weights (E, 2**dim) and flat kernel indices (E, 2**dim).

    Along each dimension, v = u * (kernel_size - 1) falls between knots floor(v) and floor(v) + 1
    with weights 1 - frac and frac; dimension 0 varies fastest in the flat kernel index.
    """
    edges, dim = pseudo.shape
    v = pseudo * (kernel_size - 1)
    lower = v.floor().clamp(0, kernel_size - 2)
    frac = v - lower
    lower = lower.long()
    weights, indices = [], []
    for corner in itertools.product((0, 1), repeat=dim):
        weight = torch.ones(edges, dtype=pseudo.dtype, device=pseudo.device)
        index = torch.zeros(edges, dtype=torch.long, device=pseudo.device)
        for d, bit in enumerate(corner):
            weight = weight * (frac[:, d] if bit else 1 - frac[:, d])
            index = index + (lower[:, d] + bit) * kernel_size**d
        weights.append(weight)
        indices.append(index)
    return torch.stack(weights, 1), torch.stack(indices, 1)


class _SplineGather(torch.autograd.Function):
    """messages[e] = sum_s basis[e, s] * y[source[e], kernel[e, s]], with an exact scatter backward."""

    @staticmethod
    def forward(ctx, y: Tensor, source: Tensor, kernel: Tensor, basis: Tensor) -> Tensor:
        nodes, cells, channels = y.shape
        flat = y.reshape(nodes * cells, channels)
        out = y.new_empty(source.numel(), channels)
        for start in range(0, source.numel(), CHUNK_EDGES):
            stop = start + CHUNK_EDGES
            rows = source[start:stop, None] * cells + kernel[start:stop]
            out[start:stop] = (basis[start:stop, :, None] * flat[rows]).sum(1)
        ctx.save_for_backward(source, kernel, basis)
        ctx.shape = y.shape
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        source, kernel, basis = ctx.saved_tensors
        nodes, cells, channels = ctx.shape
        grad_y = grad.new_zeros(nodes * cells, channels)
        for start in range(0, source.numel(), CHUNK_EDGES):
            stop = start + CHUNK_EDGES
            rows = (source[start:stop, None] * cells + kernel[start:stop]).reshape(-1)
            contribution = basis[start:stop, :, None] * grad[start:stop, None, :]
            grad_y.index_add_(0, rows, contribution.reshape(-1, channels))
        return grad_y.view(nodes, cells, channels), None, None, None


class SplineConv(MessagePassing):
    """Spline-based convolution on graphs with pseudo-coordinates in [0, 1]^dim (mean aggregation)."""

    def __init__(self, in_channels: int, out_channels: int, dim: int, kernel_size: int,
                 root_weight: bool = True, bias: bool = True):
        super().__init__(aggr="mean")
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

    def node_transform(self, x: Tensor) -> Tensor:
        """Y = x @ W for every kernel cell: (N, K, C_out)."""
        flat = self.weight.permute(1, 0, 2).reshape(self.in_channels, self.cells * self.out_channels)
        return (x @ flat).view(-1, self.cells, self.out_channels)

    def forward(self, x: Tensor, edge_index: Tensor, pseudo: Tensor) -> Tensor:
        basis, kernel = open_bspline_basis(pseudo, self.kernel_size)
        messages = _SplineGather.apply(self.node_transform(x), edge_index[0], kernel, basis)
        out = self.aggregate(messages, edge_index[1], dim_size=x.shape[0])
        if self.root is not None:
            out = out + x @ self.root
        if self.bias is not None:
            out = out + self.bias
        return out

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, dim={self.dim}, kernel_size={self.kernel_size}"
