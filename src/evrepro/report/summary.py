"""The reproduction summary at the top of the HTML report: one line per claim, from the claims tables.

Plain ``csv`` (no pandas): the Snakefile reads it when ``snakemake --report`` parses the workflow, and the
report's description renders it.
"""

import csv
from pathlib import Path

from evrepro import layout


def _number(text: str) -> str:
    return f"{float(text):.3g}" if text not in ("", "nan") else "--"


def claim_line(paper: str, row: dict) -> str:
    """One claim: the published value (and whether verified), what was measured, the delta, the status and the
    criterion that decided it."""
    published = _number(row["published"]) + ("" if row["verified"] == "True" else " (unverified)")
    line = f"{paper}, {row['dataset']} {row['metric']}: published {published}"
    if row["run"]:
        spread = f" ± {_number(row['reproduced_std'])}" if row["reproduced_std"] not in ("", "nan") else ""
        line += (f"; measured {_number(row['reproduced_mean'])}{spread} over {row['seeds']} seed(s) "
                 f"(run {row['run']}, {row['epochs']} of the paper's {row['paper_epochs']} epochs)")
        if row["delta"] not in ("", "nan"):
            line += f", delta {float(row['delta']):+.3g}"
    criterion = f" ({row['criterion']})" if row.get("criterion") else ""
    return f"{line}: **{row['status']}**{criterion}"


def reproduction_summary(root: str | Path, papers: list[str]) -> list[str]:
    """Lines for every claim of every paper whose claims table exists under ``root``; [] before the first run."""
    lines = []
    for paper in papers:
        path = Path(root) / layout.fill(layout.TABLE, name=f"claims_{paper}")
        if path.exists():
            with open(path, newline="") as handle:
                lines += [claim_line(paper.upper(), row) for row in csv.DictReader(handle)]
    return lines
