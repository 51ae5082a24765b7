"""The dense reference of the asynchronous evaluation: a full pass on a prefix's graph, the engine's largest
difference to it, and the dense model's accuracy after the first n events of every stream."""

import math

import numpy as np
import torch

from evrepro.aegnn.asynchronous import AsyncGraphRes
from evrepro.graphs.radius import radius_graph
from evrepro.graphs.store import GraphStore


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


def accuracy_vs_events(model, store: GraphStore, split: str, counts: list[int], device, batch_size: int = 64):
    """Accuracy of the dense model on the first n events of every stream of a split, for each n in ``counts``."""
    streams = [store.sample(split, i) for i in range(store.num_samples(split))]
    radius, max_neighbors = store.params.radius, store.params.max_neighbors
    labels = np.array([s["label"] for s in streams])
    accuracy = []
    for count in counts:
        predicted = []
        for start in range(0, len(streams), batch_size):
            chunk = [(s["pos"][:count], s["x"][:count]) for s in streams[start : start + batch_size]]
            sizes = [len(pos) for pos, _ in chunk]
            offsets = np.cumsum([0] + sizes[:-1])
            edges = np.concatenate([radius_graph(pos, radius, max_neighbors) + o
                                    for (pos, _), o in zip(chunk, offsets)],
                                   axis=1)
            batch = torch.repeat_interleave(torch.arange(len(chunk)), torch.tensor(sizes))
            with torch.inference_mode():
                logits = model(torch.from_numpy(np.concatenate([x for _, x in chunk])).to(device),
                               torch.from_numpy(np.concatenate([pos for pos, _ in chunk])).to(device),
                               torch.from_numpy(edges).to(device), batch.to(device), len(chunk))
            predicted.append(logits.argmax(1).cpu().numpy())
        accuracy.append(float(np.mean(np.concatenate(predicted) == labels)))
    return accuracy, len(streams)
