"""AEGNN's input drawn: a graph cache's radius graph over the events it was built from."""

import numpy as np
from matplotlib.collections import LineCollection

from evrepro.graphs.store import GraphStore
from evrepro.report.style import FULL_WIDTH_IN, plt, save


def plot_graph(cache_path, out_png, split: str = "test", samples: int = 3) -> None:
    """The first sample of each of the first ``samples`` classes: nodes at (x, y) coloured by time t', the radius
    graph's edges in the (x, y) plane, and the graph drawn in (x, t') to show its time axis."""
    with GraphStore(cache_path) as store:
        labels = store.labels(split)
        chosen = [int(np.flatnonzero(labels == label)[0]) for label in np.unique(labels)[:samples]]
        figure, axes = plt.subplots(2, len(chosen), figsize=(FULL_WIDTH_IN, 4.6), squeeze=False)
        for column, index in enumerate(chosen):
            graph = store.sample(split, index)
            pos, edges = graph["pos"], graph["edge_index"]
            for row, (a, b, names) in enumerate(((0, 1, ("x", "y")), (0, 2, ("x", "t'")))):
                ax = axes[row, column]
                segments = np.stack([pos[edges[0]][:, [a, b]], pos[edges[1]][:, [a, b]]], axis=1)
                ax.add_collection(LineCollection(segments, colors="0.6", linewidths=0.2, zorder=1))
                ax.scatter(pos[:, a], pos[:, b], c=pos[:, 2], s=2, cmap="viridis", zorder=2)
                ax.set(xlabel=names[0], ylabel=names[1])
                if row == 0:
                    ax.invert_yaxis()  # image rows grow downwards
                    ax.set_title(f"{store.class_names[graph['label']]} (#{index}): {len(pos)} nodes, "
                                 f"{edges.shape[1]} edges")
        params = store.params
        figure.suptitle(f"radius graph (r {params.radius:g} in (x, y, t'), at most {params.max_neighbors} "
                        f"neighbours), colour = t'", fontsize=8)
    save(figure, out_png)
