"""GraphRes computations restricted to chosen nodes: the work the engine does per event.

``block_rows`` evaluates SplineConv -> ELU -> eval-mode BatchNorm of ``GraphRes.block`` for a set of
target nodes only, from all their incoming edges, with the model's weights and the same
pseudo-coordinates and B-spline basis as the dense pass. BatchNorm in eval mode is a per-channel
affine map of the running statistics (``folded_norm``). ``max_rows`` is the max over groups of rows.
"""

import numpy as np
import torch
from torch import Tensor

from evrepro.aegnn.graph_res import GraphRes
from evrepro.aegnn.spline_conv import cartesian_pseudo, open_bspline_basis

CHUNK_ELEMENTS = 1 << 22  # targets per chunk × cells × F_out: bounds the transformed sources held at once


def index_tensor(a: np.ndarray, device) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64)).to(device)


def folded_norm(norm: torch.nn.BatchNorm1d) -> tuple[Tensor, Tensor]:
    """(scale, shift) with norm(x) = x · scale + shift in eval mode: (x - mean) / sqrt(var + eps) · γ + β."""
    if norm.running_mean is None:
        raise ValueError("BatchNorm without running statistics normalises by its batch: it has no per-node form")
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale
    if norm.bias is not None:
        shift = shift + norm.bias
    return scale.detach(), shift.detach()


def spline_rows(model: GraphRes, index: int, x: Tensor, pos: Tensor, scale: float, targets: Tensor,
                sources: Tensor, rows: Tensor) -> Tensor:
    """Output of ``model.convs[index]`` at ``targets`` from every edge into them.

    Edge e runs from node ``sources[e]`` to ``targets[rows[e]]``; ``rows`` must be non-decreasing.
    Each source is transformed once by every kernel cell (x_j·W_k), then a sparse matrix with one row
    per target, already in row order, takes the basis-weighted mean over its edges: no sort is needed.
    """
    conv = model.convs[index]
    n, cells, f_out = targets.numel(), conv.cells, conv.out_channels
    pseudo = cartesian_pseudo(pos, torch.stack([sources, targets[rows]]), scale)
    basis, kernel = open_bspline_basis(pseudo, conv.kernel_size)
    used = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
    used[sources] = True
    unique = used.nonzero().squeeze(1)
    compact = torch.empty(x.shape[0], dtype=torch.long, device=x.device)
    compact[unique] = torch.arange(unique.numel(), device=x.device)
    transformed = (x[unique] @ conv.weight.permute(1, 0, 2).reshape(conv.in_channels, cells * f_out)).view(-1, f_out)
    degree = torch.bincount(rows, minlength=n)
    crow = torch.cat([degree.new_zeros(1), (degree * kernel.shape[1]).cumsum(0)])
    matrix = torch.sparse_csr_tensor(crow, (compact[sources][:, None] * cells + kernel).reshape(-1),
                                     (basis / degree.clamp(min=1).to(basis.dtype)[rows, None]).reshape(-1),
                                     size=(n, transformed.shape[0]), check_invariants=False)
    out = matrix @ transformed
    if conv.root is not None:
        out = out + x[targets] @ conv.root
    if conv.bias is not None:
        out = out + conv.bias
    return out


def block_rows(model: GraphRes, index: int, norm: tuple[Tensor, Tensor], x: Tensor, pos: Tensor, scale: float,
               targets: np.ndarray, in_edges) -> tuple[Tensor, int]:
    """``model.block(index)`` at ``targets``, with its BatchNorm folded to ``norm``; and the number of edges used.

    ``in_edges(targets)`` gives (sources, rows) as numpy arrays, rows non-decreasing. Targets are
    processed in chunks of at most ``CHUNK_ELEMENTS / (cells · F_out)``.
    """
    conv = model.convs[index]
    chunk = max(1, CHUNK_ELEMENTS // (conv.cells * conv.out_channels))
    parts, edges = [], 0
    for start in range(0, targets.size, chunk):
        part = targets[start : start + chunk]
        sources, rows = in_edges(part)
        edges += sources.size
        out = spline_rows(model, index, x, pos, scale, *(index_tensor(a, x.device) for a in (part, sources, rows)))
        parts.append(torch.nn.functional.elu(out) * norm[0] + norm[1])
    return (torch.cat(parts) if parts else x.new_zeros((0, conv.out_channels))), edges


def max_rows(x: Tensor, members: list[np.ndarray]) -> Tensor:
    """Row-wise max of ``x`` over each group of row indices (non-empty groups only).

    Groups are padded to a common size with their own first member, which leaves each max unchanged.
    """
    padded = np.empty((len(members), max(m.size for m in members)), dtype=np.int64)
    for row, m in enumerate(members):
        padded[row, : m.size] = m
        padded[row, m.size :] = m[0]
    return x[index_tensor(padded, x.device)].amax(dim=1)
