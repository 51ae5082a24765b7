"""The detection tables: every detection run × seed scored under each named definition beside the trivial baseline,
and AEGNN's published detection numbers beside them.

``detection``: one row per run, seed and metric (``evrepro.detection.metrics.METRICS``, with its definition spelled
out), and a ``mean`` row per run and metric over its seeds: no cell without the definition that produced it.
``detection_claims``: per published cell of AEGNN's detection table, the runs on its dataset; a cell whose definition
is known meets the reproduced mean under that definition (and gets a status), one whose definition is unknown gets
every definition's mean beside it and the status "definition unknown" — never a verdict across definitions.
"""

import numpy as np
import pandas as pd

from evrepro.detection.metrics import METRICS
from evrepro.layout import run_and_seed
from evrepro.report.claims import load_paper_results
from evrepro.report.table_files import write_table
from evrepro.training.record import DetectionMetricsRecord, read_record


def detection_table(metrics_paths, datasets: dict[str, str]) -> pd.DataFrame:
    """Rows of (run, seed, dataset, metric, definition, value, baseline, test_samples)."""
    rows = []
    for path in metrics_paths:
        run, seed = run_and_seed(path)
        record = read_record(DetectionMetricsRecord, path)
        rows += [{"run": run, "seed": seed, "dataset": datasets[run], "metric": metric, "definition": definition,
                  "value": record.scores.get(metric), "baseline": record.baseline.get(metric),
                  "test_samples": record.test_samples}
                 for metric, definition in METRICS.items() if metric in record.scores]
    table = pd.DataFrame(rows, columns=["run", "seed", "dataset", "metric", "definition", "value", "baseline",
                                        "test_samples"])
    means = (table.groupby(["run", "dataset", "metric", "definition"], sort=False)[["value", "baseline"]]
             .mean().reset_index().assign(seed="mean", test_samples=None))
    return pd.concat([table, means[table.columns]], ignore_index=True) if len(table) else table


def detection_claims_table(published: pd.DataFrame, tolerance: dict, table: pd.DataFrame) -> pd.DataFrame:
    """Per detection claim of a paper's own method (``published``, from paper_results.yaml: AEGNN's), the detection
    runs on its dataset (``table``: ``detection_table``'s rows) under the claim's definition, or under each when it is
    unknown."""
    claims = published[published["ours"] & (published["task"] == "detection")]
    per_seed = table[table["seed"] != "mean"]
    rows = []
    for claim in claims.itertuples(index=False):
        base = {"dataset": claim.dataset, "metric": claim.metric, "definition": claim.definition,
                "published": claim.value, "verified": claim.verified, "source": claim.source}
        runs = per_seed[per_seed["dataset"] == claim.dataset]
        if claim.metric != "map" or runs.empty:  # MFLOP/ev: the asynchronous detector is not built yet
            status = "no published value" if claim.value is None or pd.isna(claim.value) else "not run"
            rows.append({**base, "run": "", "seeds": 0, "status": status})
            continue
        for run, seeds in runs.groupby("run", sort=True):
            means = seeds.groupby("metric")["value"].mean()
            row = {**base, "run": run, "seeds": seeds["seed"].nunique(), **{m: means.get(m, np.nan) for m in METRICS}}
            if claim.definition in METRICS:
                mean = means.get(claim.definition, np.nan)
                row["reproduced_mean"] = mean
                row["status"] = ("no published value" if claim.value is None or pd.isna(claim.value) else
                                 "reproduced" if mean >= claim.value - tolerance["map"] else "not reproduced")
            else:
                row["status"] = "definition unknown"
            rows.append(row)
    columns = ["dataset", "metric", "definition", "published", "verified", "run", "seeds", "reproduced_mean",
               "status", *METRICS, "source"]
    return pd.DataFrame(rows, columns=columns)


def write_detection_tables(paper_results_path, metrics_paths, datasets: dict[str, str], out_csv: dict) -> None:
    """``detection`` and ``detection_claims`` at the CSV paths of ``out_csv`` (each also as Markdown and LaTeX)."""
    _, published, tolerance = load_paper_results(paper_results_path)
    table = detection_table(metrics_paths, datasets)
    write_table(table, out_csv["detection"])
    write_table(detection_claims_table(published, tolerance, table), out_csv["detection_claims"])
