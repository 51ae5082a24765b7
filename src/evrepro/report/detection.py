"""The detection tables: every detection run × seed scored under each named definition beside the trivial baseline,
and AEGNN's published detection numbers beside them.

``detection``: one row per run, seed and metric (``evrepro.detection.metrics.METRICS``, with its definition spelled
out), and a ``mean`` row per run and metric over its seeds: no cell without the definition that produced it.
``detection_claims``: per published cell of AEGNN's detection table, the runs on its dataset; a cell whose definition
is known meets the reproduced mean under that definition (and gets a status), one whose definition is unknown gets
every definition's mean beside it and the status "definition unknown" — never a verdict across definitions. An
MFLOP/ev cell meets the runs' asynchronous MFLOP/ev (async.json) under evrepro's convention, judged as the
recognition claims are (``evrepro.report.claims.judge``), with every convention's value beside it.
"""

import numpy as np
import pandas as pd

from evrepro.detection.metrics import METRICS
from evrepro.layout import run_and_seed
from evrepro.report.claims import judge, load_paper_results
from evrepro.report.table_files import write_table
from evrepro.training.record import AsyncResult, DetectionMetricsRecord, read_record

CONVENTIONS = ("evrepro", "dagr_last_event", "aegnn_paper_protocol")  # async.json's FLOP conventions, shown beside


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


def detection_flops(async_paths, datasets: dict[str, str]) -> pd.DataFrame:
    """Rows of (run, seed, dataset, convention, async_mflops_per_event) from the detection runs' async.json."""
    rows = [{"run": run, "seed": seed, "dataset": datasets[run], "convention": name,
             "async_mflops_per_event": convention.async_mflops_per_event}
            for path in async_paths for run, seed in [run_and_seed(path)]
            for name, convention in read_record(AsyncResult, path).conventions.items()]
    return pd.DataFrame(rows, columns=["run", "seed", "dataset", "convention", "async_mflops_per_event"])


def _flops_rows(base: dict, claim, runs: pd.DataFrame, tolerance: dict, statistics: dict) -> list[dict]:
    """One row per run of an MFLOP/ev claim's dataset: evrepro's convention judged, every convention beside it."""
    rows = []
    for run, seeds in runs.groupby("run", sort=True):
        means = seeds.groupby("convention")["async_mflops_per_event"].mean()
        mean = means.get("evrepro", np.nan)
        values = seeds[seeds["convention"] == "evrepro"]["async_mflops_per_event"]
        rows.append({**base, "run": run, "seeds": seeds["seed"].nunique(), "convention": "evrepro",
                     "reproduced_mean": mean, **{f"mflops_{name}": means.get(name, np.nan) for name in CONVENTIONS},
                     **judge("mflops_per_event", claim.value, values, tolerance, statistics)._asdict()})
    return rows


def detection_claims_table(published: pd.DataFrame, tolerance: dict, statistics: dict, table: pd.DataFrame,
                           flops: pd.DataFrame) -> pd.DataFrame:
    """Per detection claim of a paper's own method (``published``, from paper_results.yaml: AEGNN's), the detection
    runs on its dataset: a mAP claim meets ``table`` (``detection_table``'s rows) under the claim's definition, or
    each definition when it is unknown; an MFLOP/ev claim meets ``flops`` (``detection_flops``)."""
    claims = published[published["ours"] & (published["task"] == "detection")]
    per_seed = table[table["seed"] != "mean"]
    rows = []
    for claim in claims.itertuples(index=False):
        base = {"dataset": claim.dataset, "metric": claim.metric, "definition": claim.definition,
                "published": claim.value, "verified": claim.verified, "source": claim.source}
        runs = (flops if claim.metric == "mflops_per_event" else per_seed)
        runs = runs[runs["dataset"] == claim.dataset]
        if runs.empty:
            status = "no published value" if claim.value is None or pd.isna(claim.value) else "not run"
            rows.append({**base, "run": "", "seeds": 0, "status": status})
            continue
        if claim.metric == "mflops_per_event":
            rows += _flops_rows(base, claim, runs, tolerance, statistics)
            continue
        for run, seeds in runs.groupby("run", sort=True):
            means = seeds.groupby("metric")["value"].mean()
            row = {**base, "run": run, "seeds": seeds["seed"].nunique(), **{m: means.get(m, np.nan) for m in METRICS}}
            if claim.definition in METRICS:
                row["reproduced_mean"] = means.get(claim.definition, np.nan)
                values = seeds[seeds["metric"] == claim.definition]["value"]
                row.update(judge("map", claim.value, values, tolerance, statistics)._asdict())
            else:
                row["status"] = "definition unknown"
            rows.append(row)
    columns = ["dataset", "metric", "definition", "published", "verified", "run", "seeds", "convention",
               "reproduced_mean", "ci_low", "ci_high", "status", "criterion", "within_tolerance", *METRICS,
               *(f"mflops_{name}" for name in CONVENTIONS), "source"]
    return pd.DataFrame(rows, columns=columns)


def write_detection_tables(paper_results_path, metrics_paths, async_paths, datasets: dict[str, str],
                           out_csv: dict) -> None:
    """``detection`` and ``detection_claims`` at the CSV paths of ``out_csv`` (each also as Markdown and LaTeX)."""
    _, published, tolerance, statistics = load_paper_results(paper_results_path)
    table = detection_table(metrics_paths, datasets)
    write_table(table, out_csv["detection"])
    claims = detection_claims_table(published, tolerance, statistics, table, detection_flops(async_paths, datasets))
    write_table(claims, out_csv["detection_claims"])
