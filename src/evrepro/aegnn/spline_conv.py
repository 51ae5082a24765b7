"""SplineConv with degree-1 open B-splines (Fey et al. 2018), in plain torch.

PyG's ``SplineConv`` needs the torch-spline-conv / pyg-lib backends, which PyPI does not carry. With
mean aggregation, sum_e basis(u_e) x_j W / deg(i) regroups into a sparse product: a matrix A of basis
weights per (target, kernel cell) and source (``spline_adjacency``), then one dense product with the
weights, ``(A @ x) @ W``. Autograd differentiates both exactly; A carries no gradient (it depends on
positions only). An optional root weight and bias are added per node.

Pseudo-coordinates are Cartesian: ``u = (pos_source - pos_target) / (2 * scale) + 0.5`` clipped to
[0, 1], with a fixed ``scale`` (the graph radius), never the batch's largest distance.
"""

import itertools
import math
import warnings
from typing import NamedTuple

import numpy as np
import scipy.sparse
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


class SplineAdjacency(NamedTuple):
    """A sparse CSR matrix A (N·K × N) and its transpose, for ``(A @ x)`` with an exact backward."""

    matrix: Tensor
    transpose: Tensor


def _csr(matrix: scipy.sparse.csr_matrix, dtype, device) -> Tensor:
    with warnings.catch_warnings():  # torch calls its sparse CSR support beta, here only, once per process
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(torch.from_numpy(matrix.indptr.astype(np.int64)),
                                       torch.from_numpy(matrix.indices.astype(np.int64)),
                                       torch.from_numpy(matrix.data), size=matrix.shape, dtype=dtype, device=device,
                                       check_invariants=False)  # scipy built it: valid by construction


def spline_adjacency(edge_index: Tensor, pseudo: Tensor, num_nodes: int, kernel_size: int) -> SplineAdjacency:
    """A[i·K + k, j] = sum of basis_k(u_e) / deg(i) over edges e: j -> i, and its transpose.

    Mean-aggregated spline messages are then ``((A @ x).view(N, K·C_in)) @ W.view(K·C_in, C_out)``. A
    depends only on the graph, so every convolution on the same graph and kernel can share it. scipy
    assembles both CSR matrices in linear time (no sort); duplicate entries are summed by the product.
    """
    basis, kernel = open_bspline_basis(pseudo.detach(), kernel_size)
    cells = kernel_size ** pseudo.shape[1]
    source, target = edge_index.detach()
    degree = torch.bincount(target, minlength=num_nodes).clamp(min=1).to(basis.dtype)
    rows = (target[:, None] * cells + kernel).reshape(-1).cpu().numpy()
    columns = source.repeat_interleave(kernel.shape[1]).cpu().numpy()
    values = (basis / degree[target, None]).reshape(-1).cpu().numpy()
    matrix = scipy.sparse.csr_matrix((values, (rows, columns)), shape=(num_nodes * cells, num_nodes))
    return SplineAdjacency(_csr(matrix, basis.dtype, pseudo.device), _csr(matrix.T.tocsr(), basis.dtype, pseudo.device))


class _SparseProduct(torch.autograd.Function):
    """A @ x with the gradient A^T @ grad (A is constant)."""

    @staticmethod
    def forward(ctx, adjacency: SplineAdjacency, x: Tensor) -> Tensor:
        ctx.transpose = adjacency.transpose
        return adjacency.matrix @ x

    @staticmethod
    def backward(ctx, grad: Tensor):
        return None, ctx.transpose @ grad


class SplineConv(torch.nn.Module):
    r"""Spline-based convolution (Fey et al., CVPR 2018) with degree-1 open B-splines and mean aggregation.

    .. math::
        y_i = \frac{1}{|N(i)|} \sum_{j \in N(i)} \sum_{k} B_k(u_{j \to i}) \, x_j W_k \; + \; x_i W_{root} + b

    over the kernel cells k of a ``kernel_size``\ :sup:`dim` grid, with B_k the products of the
    degree-1 open B-spline bases of the pseudo-coordinates u in [0, 1]^dim (``cartesian_pseudo``).
    The sum over edges is a sparse product with a spline adjacency ``A`` that depends on the graph
    only (``spline_adjacency``): compute it once per graph and pass it to every convolution on that
    graph with the same kernel size, as GraphRes does.

    Args:
        in_channels, out_channels: feature sizes.
        dim: pseudo-coordinate dimensions (2 or 3).
        kernel_size: knots per dimension (>= 2).
        root_weight: add ``x_i W_root``.
        bias: add ``b``.

    Shapes:
        x: (N, in_channels); adjacency: from ``spline_adjacency(edge_index (2, E), pseudo (E, dim), N,
        kernel_size)``; output: (N, out_channels).
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

    def adjacency(self, edge_index: Tensor, pseudo: Tensor, num_nodes: int) -> SplineAdjacency:
        """The spline adjacency of a graph for this convolution's kernel (reusable by its siblings)."""
        return spline_adjacency(edge_index, pseudo, num_nodes, self.kernel_size)

    def forward(self, x: Tensor, adjacency: SplineAdjacency) -> Tensor:
        """Convolve node features ``x`` over the graph whose spline ``adjacency`` is given."""
        gathered = _SparseProduct.apply(adjacency, x).view(x.shape[0], self.cells * self.in_channels)
        out = gathered @ self.weight.reshape(self.cells * self.in_channels, self.out_channels)
        if self.root is not None:
            out = out + x @ self.root
        if self.bias is not None:
            out = out + self.bias
        return out

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, dim={self.dim}, kernel_size={self.kernel_size}"
