"""One style for every figure: Okabe–Ito colours (safe for colour-blind readers), type sizes readable at a
paper's column width, and each figure saved as PNG and PDF."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from cycler import cycler  # noqa: E402

from evrepro import layout  # noqa: E402
from evrepro.storage.fileio import atomic_output  # noqa: E402

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
COLUMN_WIDTH_IN = 3.4  # one column of a two-column paper
FULL_WIDTH_IN = 7.0
plt.rcParams.update({
    "axes.prop_cycle": cycler(color=OKABE_ITO), "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8,
    "legend.fontsize": 6.5, "xtick.labelsize": 7, "ytick.labelsize": 7, "lines.linewidth": 1.2,
    "savefig.dpi": 200, "pdf.fonttype": 42, "axes.spines.top": False, "axes.spines.right": False,
})


def colour(index: int) -> str:
    """The ``index``-th colour of the palette (cycling)."""
    return OKABE_ITO[index % len(OKABE_ITO)]


def save(figure, png_path: str | Path) -> None:
    """Write ``figure`` to ``png_path`` and its PDF beside it, each atomically, and close it."""
    figure.tight_layout()
    for path, kind in ((Path(png_path), "png"), (Path(layout.pdf(str(png_path))), "pdf")):
        with atomic_output(path) as temporary:
            figure.savefig(temporary, format=kind)
    plt.close(figure)
