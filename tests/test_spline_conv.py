"""SplineConv against a direct per-edge evaluation of the B-spline formula, and its gradients."""

import importlib.util
import itertools

import pytest
import torch

from evrepro.aegnn.spline_conv import SplineConv, cartesian_pseudo, open_bspline_basis


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
    torch.testing.assert_close(conv(x, conv.adjacency(edge_index, pseudo, 12)), expected, rtol=1e-10, atol=1e-10)


def test_basis_sums_to_one_and_picks_neighbouring_knots():
    pseudo = torch.rand(100, 3, dtype=torch.float64)
    basis, kernel = open_bspline_basis(pseudo, 4)
    torch.testing.assert_close(basis.sum(1), torch.ones(100, dtype=torch.float64))
    assert kernel.min() >= 0 and kernel.max() < 4**3


def test_gradients_match_finite_differences():
    torch.manual_seed(1)
    conv = SplineConv(2, 3, 2, 3).double()
    x = torch.randn(8, 2, dtype=torch.float64, requires_grad=True)
    weight = conv.weight.detach().clone().requires_grad_(True)
    edge_index, pseudo = random_graph(2, nodes=8, edges=25, dim=2)

    adjacency = conv.adjacency(edge_index, pseudo, 8)

    def run(x_, weight_):
        out = torch.func.functional_call(conv, {"weight": weight_}, (x_, adjacency))
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
    torch.testing.assert_close(ours(x, ours.adjacency(edge_index, pseudo.float(), 12)),
                               theirs(x, edge_index, pseudo.float()), atol=2e-6, rtol=1e-5)


def test_importing_the_layer_leaves_the_process_warning_filters_alone():
    import subprocess
    import sys

    code = ("import warnings, scipy.sparse, torch; before = list(warnings.filters); "
            "import evrepro.aegnn.spline_conv; print(warnings.filters == before)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "True"
