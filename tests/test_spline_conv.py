"""SplineConv against a direct per-edge evaluation of the B-spline formula, PyG's compiled layer (goldens) and its
gradients; and that its forward and backward stay on the tensors' device."""

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from evrepro.aegnn.spline_conv import SplineConv, cartesian_pseudo, open_bspline_basis, spline_graph

GOLDENS = Path(__file__).parent / "data" / "reference" / "pyg_goldens.npz"


def spline_weight_direct(weight, u, kernel_size):
    """W(u) = sum over all kernel cells of prod_d B_1(u_d * (k - 1) - i_d) * W[cell], the textbook way."""
    dim = u.shape[0]
    total = torch.zeros(weight.shape[1:], dtype=weight.dtype)
    for cell in itertools.product(range(kernel_size), repeat=dim):
        b = 1.0
        for d in range(dim):
            b *= max(0.0, 1.0 - abs(float(u[d]) * (kernel_size - 1) - cell[d]))  # hat function
        flat = sum(cell[d] * kernel_size**d for d in range(dim))
        total += b * weight[flat]
    return total


def direct_conv(conv, x, edge_index, pseudo):
    out = torch.zeros(x.shape[0], conv.out_channels, dtype=x.dtype)
    count = torch.zeros(x.shape[0], dtype=x.dtype)
    for e in range(edge_index.shape[1]):
        j, i = int(edge_index[0, e]), int(edge_index[1, e])
        out[i] += x[j] @ spline_weight_direct(conv.weight.detach(), pseudo[e], conv.kernel_size)
        count[i] += 1
    out = out / count.clamp(min=1)[:, None]
    if conv.root is not None:
        out += x @ conv.root.detach()
    if conv.bias is not None:
        out += conv.bias.detach()
    return out


def random_graph(seed, nodes=12, edges=40, dim=3):
    g = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, nodes, (2, edges), generator=g)
    pseudo = torch.rand(edges, dim, generator=g, dtype=torch.float64)
    pseudo[:3] = torch.tensor([0.0, 1.0, 0.5], dtype=torch.float64)[:dim]  # knots and borders
    return edge_index, pseudo


@pytest.mark.parametrize("dim, kernel_size, root, bias", [(2, 2, False, False), (3, 2, True, True),
                                                          (2, 5, True, False), (3, 3, False, True)])
def test_matches_the_direct_spline_formula(dim, kernel_size, root, bias):
    torch.manual_seed(0)
    conv = SplineConv(3, 4, dim, kernel_size, root_weight=root, bias=bias).double()
    if bias:
        torch.nn.init.normal_(conv.bias)
    x = torch.randn(12, 3, dtype=torch.float64)
    edge_index, pseudo = random_graph(1, dim=dim)
    expected = direct_conv(conv, x, edge_index, pseudo)
    torch.testing.assert_close(conv(x, edge_index, pseudo), expected, rtol=1e-10, atol=1e-10)


def test_basis_sums_to_one_and_picks_neighbouring_knots():
    pseudo = torch.rand(100, 3, dtype=torch.float64)
    basis, kernel = open_bspline_basis(pseudo, 4)
    torch.testing.assert_close(basis.sum(1), torch.ones(100, dtype=torch.float64))
    assert kernel.min() >= 0 and kernel.max() < 4**3


def broadcast_basis(pseudo, kernel_size):
    """The basis as evrepro computed it until 2026-12 (a broadcast ``where`` and ``prod`` over every corner and
    dimension), which the running outer product replaced for speed."""
    dim = pseudo.shape[1]
    v = pseudo * (kernel_size - 1)
    lower = v.floor().clamp(0, kernel_size - 2)
    frac = v - lower
    corners = torch.tensor(list(itertools.product((0, 1), repeat=dim)))
    factors = torch.where(corners.bool(), frac[:, None, :], 1 - frac[:, None, :])
    strides = kernel_size ** torch.arange(dim)
    return factors.prod(dim=2), ((lower.long()[:, None, :] + corners) * strides).sum(dim=2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_basis_is_bit_for_bit_the_former_broadcast_formula(dtype):
    generator = torch.Generator().manual_seed(0)
    for dim, kernel_size in itertools.product((1, 2, 3), (2, 3, 8)):
        pseudo = torch.rand(5000, dim, generator=generator, dtype=dtype)
        pseudo[:300] = torch.tensor([0.0, 0.5, 1.0], dtype=dtype)[torch.randint(0, 3, (300, dim), generator=generator)]
        weights, cells = open_bspline_basis(pseudo, kernel_size)
        former_weights, former_cells = broadcast_basis(pseudo, kernel_size)
        assert torch.equal(weights, former_weights) and torch.equal(cells, former_cells), (dim, kernel_size)


def test_gradients_match_finite_differences():
    torch.manual_seed(1)
    conv = SplineConv(2, 3, 2, 3).double()
    x = torch.randn(8, 2, dtype=torch.float64, requires_grad=True)
    weight = conv.weight.detach().clone().requires_grad_(True)
    edge_index, pseudo = random_graph(2, nodes=8, edges=25, dim=2)

    graph = conv.prepare(edge_index, pseudo, 8)

    def run(x_, weight_):
        out = torch.func.functional_call(conv, {"weight": weight_}, (x_, graph))
        return torch.nn.functional.elu(out)

    assert torch.autograd.gradcheck(run, (x, weight))


def test_pseudo_coordinates_use_a_fixed_scale():
    pos = torch.tensor([[0.0, 0.0, 0.0], [3.0, -3.0, 1.5], [1.0, 0.0, 0.0]])
    edge_index = torch.tensor([[1, 2], [0, 0]])
    pseudo = cartesian_pseudo(pos, edge_index, scale=3.0)
    torch.testing.assert_close(pseudo, torch.tensor([[1.0, 0.0, 0.75], [4 / 6, 0.5, 0.5]]))
    # the same edge gets the same attribute whatever else is in the batch
    far = torch.cat([pos, torch.tensor([[100.0, 100.0, 100.0]])])
    torch.testing.assert_close(cartesian_pseudo(far, edge_index, 3.0), pseudo)


@pytest.mark.skipif(importlib.util.find_spec("torch_spline_conv") is None,
                    reason="torch-spline-conv (PyG's SplineConv backend) is not installable from PyPI here")
def test_matches_pyg_spline_conv_when_its_backend_imports():
    from torch_geometric.nn import SplineConv as PygSplineConv

    torch.manual_seed(0)
    ours = SplineConv(3, 5, 3, 4, root_weight=True, bias=True)
    theirs = PygSplineConv(3, 5, dim=3, kernel_size=4, is_open_spline=True, degree=1, aggr="mean")
    theirs.weight.data = ours.weight.data.clone()
    theirs.lin.weight.data = ours.root.data.t().clone()
    theirs.bias.data = ours.bias.data.clone()
    x = torch.randn(12, 3)
    edge_index, pseudo = random_graph(3)
    torch.testing.assert_close(ours(x, edge_index, pseudo.float()),
                               theirs(x, edge_index, pseudo.float()), atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("case", ["ncars_like", "k5_noroot", "dim2_k8", "caltech_like"])
def test_output_and_gradients_equal_pyg_compiled_spline_conv(case):
    """PyG's SplineConv with the compiled torch-spline-conv backend, recorded in float64 (boundary knots included)."""
    with np.load(GOLDENS) as goldens:
        golden = {key.split("/")[-1]: torch.from_numpy(goldens[key]) for key in goldens.files
                  if key.startswith(f"spline/{case}/")}
    cells, c_in, c_out = golden["weight"].shape
    dim = golden["pseudo"].shape[1]
    conv = SplineConv(c_in, c_out, dim, round(cells ** (1 / dim)), root_weight="root" in golden,
                      bias="bias" in golden).double()
    with torch.no_grad():
        for name in ("weight", "root", "bias"):
            if name in golden:
                getattr(conv, name).copy_(golden[name])
    x = golden["x"].clone().requires_grad_(True)
    y = conv(x, golden["edge_index"], golden["pseudo"])
    torch.testing.assert_close(y, golden["y"], rtol=1e-12, atol=1e-12)
    (y * golden["cotangent"]).sum().backward()
    torch.testing.assert_close(x.grad, golden["x_grad"], rtol=1e-12, atol=1e-12)
    for name in ("weight", "root", "bias"):
        if name in golden:
            torch.testing.assert_close(getattr(conv, name).grad, golden[f"{name}_grad"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel_size, layout", [(2, "dense"), (5, "tiles")])
def test_prepared_graph_holds_each_target_and_cell_row_once(kernel_size, layout):
    """Every (target, cell) row equals the basis-weighted mean it stands for: all N · cells rows target-major where
    edges can reach them all (kernel 2), else only the reached rows, each once, in a tile of its own cell."""
    nodes = 30
    edge_index, pseudo = random_graph(4, nodes=nodes, edges=200)
    graph = spline_graph(edge_index, pseudo, nodes, kernel_size)
    assert (graph.tiles is None) == (layout == "dense")
    cells = kernel_size**3
    basis, cell = open_bspline_basis(pseudo, kernel_size)
    degree = torch.bincount(edge_index[1], minlength=nodes).double()
    expected = torch.zeros(nodes, cells, nodes, dtype=torch.float64)  # [target, cell, source]
    for e in range(edge_index.shape[1]):
        for s in range(basis.shape[1]):
            expected[edge_index[1, e], cell[e, s], edge_index[0, e]] += basis[e, s] / degree[edge_index[1, e]]
    gather = graph.gather.to_dense()
    if graph.tiles is None:
        laid_out = gather.view(nodes, cells, nodes)
    else:
        row_cell = graph.tiles.cell.repeat_interleave(graph.tiles.size)
        laid_out = torch.zeros_like(expected)
        for r in (gather.abs().sum(1) > 0).nonzero().squeeze(1).tolist():
            target = graph.tiles.row_target[r]
            assert laid_out[target, row_cell[r]].abs().sum() == 0, "a (target, cell) row appears twice"
            laid_out[target, row_cell[r]] = gather[r]
    torch.testing.assert_close(laid_out, expected)
    torch.testing.assert_close(graph.scatter.to_dense(), gather.T)


@pytest.mark.parametrize("kernel_size", [2, 5])
def test_graph_forward_and_backward_read_no_data_on_the_host(kernel_size):
    """No op whose output shape depends on tensor values, and no value read to the host: on a GPU, nothing
    waits for the CPU (``.item()``, ``.tolist()``, ``nonzero``, ``unique`` would all show up here)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    forbidden = ("_local_scalar_dense", "nonzero", "unique", "masked_select", "bincount", "repeat_interleave.Tensor")

    class Recorder(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops.add(str(func))
            return func(*args, **(kwargs or {}))

    torch.manual_seed(2)
    conv = SplineConv(4, 6, 3, kernel_size)
    x = torch.randn(50, 4, requires_grad=True)
    edge_index, pseudo = random_graph(5, nodes=50, edges=300)
    with Recorder() as recorder:  # as on an accelerator: the layout keeps its static bound (no trim)
        conv(x, conv.prepare(edge_index, pseudo.float(), 50, trim=False)).sum().backward()
    # the graph was built and the sparse products ran under the guard
    assert any("sparse_compressed_tensor" in op for op in recorder.ops) and "aten.mm.default" in recorder.ops
    assert not [op for op in recorder.ops if any(name in op for name in forbidden)]


def test_forward_and_backward_never_call_numpy_or_move_tensors_to_the_host(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("SplineConv moved data to the host")

    torch.manual_seed(2)
    conv = SplineConv(4, 6, 3, 5)
    x = torch.randn(50, 4, requires_grad=True)
    edge_index, pseudo = random_graph(5, nodes=50, edges=300)
    for name in ("cpu", "numpy", "tolist", "item"):
        monkeypatch.setattr(torch.Tensor, name, refuse)
    conv(x, edge_index, pseudo.float()).sum().backward()
    monkeypatch.undo()
    assert x.grad.abs().sum() > 0


def test_a_prepared_graph_and_the_pyg_call_give_the_same_result_trimmed_or_not():
    torch.manual_seed(3)
    conv = SplineConv(3, 4, 3, 4).double()
    x = torch.randn(12, 3, dtype=torch.float64, requires_grad=True)
    edge_index, pseudo = random_graph(6)
    full, trimmed = (conv.prepare(edge_index, pseudo, 12, trim=trim) for trim in (False, True))
    assert trimmed.tiles.cell.numel() < full.tiles.cell.numel()  # the bound holds more tiles than 40 edges reach
    results = []
    for graph in (full, trimmed, None):
        x.grad = conv.weight.grad = None
        y = conv(x, edge_index, pseudo) if graph is None else conv(x, graph)
        y.pow(2).sum().backward()
        results.append((y.detach(), x.grad.clone(), conv.weight.grad.clone()))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    with pytest.raises(TypeError, match="pseudo-coordinates"):
        conv(x, edge_index)
