"""A results table as the three files a paper needs: CSV (data), Markdown (READMEs), LaTeX (booktabs)."""

from pathlib import Path

import pandas as pd

from evrepro import layout
from evrepro.storage.fileio import atomic_output

MISSING = "--"  # how a missing value reads in Markdown and LaTeX: never a zero


def write_table(table: pd.DataFrame, csv_path: str | Path, digits: int = 3) -> list[Path]:
    """Write ``table`` to ``csv_path`` and beside it as ``.md`` and ``.tex`` (booktabs rules), each atomically."""
    siblings = layout.table_siblings(str(csv_path))
    paths = [Path(csv_path), Path(siblings["markdown"]), Path(siblings["latex"])]
    with atomic_output(paths[0]) as temporary:
        table.to_csv(temporary, index=False)
    with atomic_output(paths[1]) as temporary:
        cells = table.astype(object).where(table.notna(), None)  # tabulate shows None, not NaN, as missing
        temporary.write_text(cells.to_markdown(index=False, floatfmt=f".{digits}g", missingval=MISSING) + "\n")
    latex = (table.style.hide(axis="index").format(precision=digits, na_rep=MISSING, escape="latex")
             .format_index(escape="latex", axis=1).to_latex(hrules=True))
    with atomic_output(paths[2]) as temporary:
        temporary.write_text(latex)
    return paths
