"""FLOPs of GraphRes: one pinned definition for the dense and the asynchronous pass, per layer.

Definition (evrepro FLOPs, version 1):

- A multiply-add counts 2 FLOPs; a lone addition, subtraction, multiplication, division, max,
  comparison or activation evaluation counts 1.
- SplineConv (degree-1 open B-splines, dimension d, F_in -> F_out), per computed node i with deg_i
  incoming edges: per edge the 2^d basis products, d multiplications each, and the 2^d weighted
  kernel products accumulated, 2·F_in·F_out each: deg_i·2^d·(d + 2·F_in·F_out); then the mean over
  the edges (F_out divisions), the root weight (2·F_in·F_out) and the bias (F_out) when present.
  This is the work the mathematics needs per edge, whatever the implementation.
- ELU 1 and eval-mode BatchNorm 2 (one folded multiply-add) per output element of a computed node.
- Residual addition: 1 per element of each recomputed node.
- Voxel max-pool: (m - 1)·C comparisons per recomputed voxel of m members; its mean position costs
  one addition per member coordinate summed and one division per coordinate of each recomputed mean.
- Grid max-pool (4×4, or the detector's 8×6 cells): (m - 1)·C comparisons per recomputed cell of m
  coarse nodes.
- Linear head: 2·in·out + out (bias) for a full pass; an update y += W[:, changed]·Δ costs |Δ|
  subtractions plus 2·|Δ|·out.
- The detector's grid head (one linear layer on each cell's 3×3 neighbourhood): every cell's 2·9C·out +
  out for a full pass; an update costs |Δ| subtractions plus 2·|Δ_c|·out for each cell that reads a
  changed cell c.

Not counted, in either pass: graph construction and neighbour search (radius graph, neighbour caps,
spatial hashing), edge-attribute (pseudo-coordinate) computation, voxel and grid-cell assignment,
pooled-edge construction and deduplication, change detection (comparing old and new values),
memory copies and index arithmetic.

Dense per event = one full forward pass on the graph of all events so far. Asynchronous per event =
the work the engine did for that event: every recomputed node, including the new event's neighbours.
"""

from dataclasses import dataclass

from evrepro.aegnn.presets import GRID_CELLS, GraphResConfig

DEFINITION = ("evrepro FLOPs v1: multiply-add = 2, other arithmetic/max/comparison = 1; SplineConv per computed "
              "node: deg·2^d·(d + 2·Fin·Fout) + Fout (mean) + 2·Fin·Fout (root) + Fout (bias); ELU 1 and "
              "BatchNorm 2 per element; residual 1 per element; max-pools (m-1)·C per recomputed voxel/cell, "
              "mean positions 1 per member coordinate summed + 1 per coordinate divided; head 2·in·out + out "
              "dense, |Δ| + 2·|Δ|·out per update (a detector's grid head: per cell, and 2·|Δ_c|·out per cell reading "
              "a changed cell c). Not counted: graph construction and neighbour search, edge "
              "attributes, voxel/cell assignment, pooled-edge construction, change detection, copies.")



def spline_block(nodes: int, edges: int, f_in: int, f_out: int, dim: int, root: bool, bias: bool) -> int:
    """SplineConv + ELU + BatchNorm computed for ``nodes`` nodes with ``edges`` incoming edges in all."""
    per_node = f_out + (2 * f_in * f_out if root else 0) + (f_out if bias else 0) + 3 * f_out
    return edges * 2**dim * (dim + 2 * f_in * f_out) + nodes * per_node


def residual(nodes: int, channels: int) -> int:
    return nodes * channels


def max_pool(members: int, groups: int, channels: int) -> int:
    """Max over ``groups`` non-empty groups holding ``members`` members in all."""
    return (members - groups) * channels


def mean_positions(members_summed: int, means: int, dim: int) -> int:
    return (members_summed + means) * dim


def head_dense(in_features: int, out_features: int, bias: bool) -> int:
    return 2 * in_features * out_features + (out_features if bias else 0)


def head_update(changed: int, out_features: int) -> int:
    return changed + 2 * changed * out_features


@dataclass(frozen=True)
class GraphSize:
    """What a dense pass's cost depends on: node and edge counts of both graph levels, occupied grid cells."""

    nodes: int
    edges: int
    coarse_nodes: int
    coarse_edges: int
    grid_cells: int


def backbone_flops(config: GraphResConfig, size: GraphSize) -> dict[str, int]:
    """FLOPs per layer of one dense pass of GraphRes's backbone (conv1 to conv7) on a graph of the given size."""
    c, dim, root, bias = config.channels, config.dim, config.root_weight, config.bias
    flops = {}
    for i in range(5):
        flops[f"conv{i + 1}"] = spline_block(size.nodes, size.edges, c[i], c[i + 1], dim, root, bias)
    flops["conv4"] += residual(size.nodes, c[4])
    flops["pool5"] = (max_pool(size.nodes, size.coarse_nodes, c[5])
                      + mean_positions(size.nodes, size.coarse_nodes, dim))
    for i in (5, 6):
        flops[f"conv{i + 1}"] = spline_block(size.coarse_nodes, size.coarse_edges, c[i], c[i + 1], dim, root, bias)
    flops["conv7"] += residual(size.coarse_nodes, c[7])
    return flops


def dense_flops(config: GraphResConfig, size: GraphSize) -> dict[str, int]:
    """FLOPs per layer of one dense GraphRes pass on a graph of the given size."""
    c = config.channels
    return {**backbone_flops(config, size), "pool7": max_pool(size.coarse_nodes, size.grid_cells, c[7]),
            "head": head_dense(GRID_CELLS**2 * c[7], config.num_classes, config.fc_bias)}
