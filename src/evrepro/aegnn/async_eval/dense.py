"""The dense reference of the asynchronous evaluation: a full pass on a prefix's graph, the engine's largest
difference to it, and the dense model's test score after the first n events of every stream."""

import math

import numpy as np
import torch
from torch_geometric.data import Data

from evrepro.aegnn.asynchronous import AsyncGraphRes
from evrepro.aegnn.tasks import loader
from evrepro.graphs.radius import radius_graph


def dense_pass(model, pos: np.ndarray, x: np.ndarray, radius: float, max_neighbors: int, device):
    """Dense recomputation on a prefix: its radius graph, then the full forward; (logits, layers)."""
    edges = radius_graph(pos, radius, max_neighbors)
    with torch.inference_mode():
        return model(torch.from_numpy(x).to(device), torch.from_numpy(pos).to(device),
                     torch.from_numpy(edges).to(device), torch.zeros(len(pos), dtype=torch.long, device=device), 1,
                     return_layers=True)


def largest_difference(engine: AsyncGraphRes, layers: dict) -> tuple[float, float]:
    """(logits, any layer): largest absolute difference between the engine and a dense pass."""
    mine = engine.layers()
    differences = {name: float((mine[name] - value).abs().max()) if value.numel() else 0.0
                   for name, value in layers.items()}
    return differences["head"], max(differences.values())


def event_counts(events_per_sample: int, first: int = 25) -> list[int]:
    """25, 50, 100, ... doubling below ``events_per_sample``, then ``events_per_sample``."""
    counts = [first * 2**i for i in range(int(math.log2(max(events_per_sample / first, 1))) + 1)]
    return sorted({c for c in counts if c < events_per_sample} | {events_per_sample})


def prefix(data: Data, count: int, radius: float, max_neighbors: int) -> Data:
    """A sample's first ``count`` events with their own radius graph (the engine's graph after ``count`` events)."""
    cut = data.clone()
    cut.x, cut.pos = data.x[:count], data.pos[:count]
    cut.edge_index = torch.from_numpy(radius_graph(cut.pos.numpy(), radius, max_neighbors))
    return cut


def score_vs_events(model, task, cache_path, split: str, counts: list[int], radius: float, max_neighbors: int,
                    device, batch_size: int = 64) -> tuple[list[float], int]:
    """The task's test score (``task.test_metric``) of the dense model on the first n events of every sample of a
    split, for each n in ``counts``; and the number of samples."""
    samples = list(task.dataset(cache_path, split))
    scores = []
    for count in counts:
        prefixes = [prefix(data, count, radius, max_neighbors) for data in samples]
        scores.append(float(task.test_score(model, loader(task, prefixes, batch_size=batch_size), device)))
    return scores, len(samples)
