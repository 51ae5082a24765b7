"""The papers' claims beside what this pipeline measured.

``config/paper_results.yaml`` holds the published numbers, one entry per cell, with their source and
whether anyone verified them. The run records (``metrics.json``, ``async.json``, ``model.json``) hold
what was measured. Here both meet: per paper, every claim of the method it proposes with the runs of
that family on that dataset beside it (mean ± std over seeds, the delta, the budget used against the
paper's, the checkpoint scored) and a status; and the cross table of both families on every dataset.
A claim without a run is "not run", a published cell nobody could read is "no published value": a
missing number is never shown as zero.

An accuracy or mAP claim is judged by its seeds' spread (``judge``): "reproduced" when the published value is not
above the upper end of the seeds' two-sided Student-t confidence interval of the mean (``statistics.confidence``),
"not reproduced" when it is, and "too few seeds" below ``statistics.min_seeds``, whatever the values. The fixed
tolerance (at most one point below) stays beside it as a second, named criterion (``within_tolerance``). An MFLOP/ev
claim, a count that barely varies with the seed and whose conventions differ, is judged by its tolerance alone.
"""

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from evrepro.detection.metrics import METRICS as DETECTION_METRICS
from evrepro.errors import ConfigError
from evrepro.layout import run_and_seed
from evrepro.report.table_files import write_table
from evrepro.training.record import AsyncResult, read_record, read_run_records

METRICS = ("accuracy", "mflops_per_event", "map")
# the measured column a published metric is compared with: a paper's MFLOP/ev meets the asynchronous count under
# evrepro's convention (the FLOP conventions table has the others)
MEASURED = {"accuracy": "accuracy", "mflops_per_event": "async_mflops_per_event", "map": "map"}
ENTRY_KEYS = ("paper", "source", "page", "verified", "task", "method", "ours", "dataset", "metric", "value", "note")
# a detection cell's `definition`: which score it is (evrepro.detection.metrics.METRICS) or `unknown`; `paper` for a
# MFLOP/ev cell (the paper's own convention)
DEFINITIONS = (*DETECTION_METRICS, "unknown", "paper")
PAPER_KEYS = ("title", "citation", "family", "budget", "epochs", "checkpoint", "flops_convention")
STATUSES = ("reproduced", "not reproduced", "too few seeds", "not run", "no published value")
STATISTICS = ("confidence", "min_seeds")


class PaperResults(NamedTuple):
    papers: dict  # name -> title, citation, family, budget, epochs, checkpoint, flops_convention
    published: pd.DataFrame  # one row per published cell (ENTRY_KEYS)
    tolerance: dict  # metric -> the fixed band a measured mean must reach (the second criterion)
    statistics: dict  # confidence, min_seeds: the seeds' criterion


class Judgement(NamedTuple):
    """A claim's status, the criterion that decided it, and both criteria's numbers; ``_asdict()`` gives a table
    row's columns of them."""

    status: str
    criterion: str  # what decided the status, in words
    ci_low: float  # the seeds' confidence interval of the mean (NaN where none was formed)
    ci_high: float
    within_tolerance: bool | None  # the fixed tolerance's verdict (None: no mean to judge)


def load_paper_results(path) -> PaperResults:
    """The published numbers, checked: an entry that lacks a key or names an unknown paper or metric stops
    with one line naming the file, the entry and the value."""
    data = yaml.safe_load(Path(path).read_text())
    papers, entries, tolerance = data.get("papers") or {}, data.get("results") or [], data.get("tolerance") or {}
    if set(tolerance) != set(METRICS):
        raise ConfigError(f"{path}: tolerance must give {', '.join(METRICS)} (has {', '.join(tolerance) or 'none'})")
    statistics = data.get("statistics") or {}
    if set(statistics) != set(STATISTICS) or not 0 < statistics["confidence"] < 1 or statistics["min_seeds"] < 2:
        raise ConfigError(f"{path}: statistics must give confidence (between 0 and 1) and min_seeds (2 or more), "
                          f"has {statistics or 'none'}")
    for name, paper in papers.items():
        missing = [key for key in PAPER_KEYS if key not in paper]
        if missing:
            raise ConfigError(f"{path}: papers.{name} lacks {', '.join(missing)}")
    for i, entry in enumerate(entries):
        where = f"{path}: results[{i}] ({entry.get('method')}, {entry.get('dataset')}, {entry.get('metric')})"
        missing = [key for key in ENTRY_KEYS if key not in entry]
        if missing:
            raise ConfigError(f"{where} lacks {', '.join(missing)}")
        if entry["paper"] not in papers:
            raise ConfigError(f"{where}: paper {entry['paper']!r} is none of {', '.join(papers)}")
        if entry["metric"] not in METRICS:
            raise ConfigError(f"{where}: metric {entry['metric']!r} is none of {', '.join(METRICS)}")
        if entry["value"] is not None and not isinstance(entry["value"], int | float):
            raise ConfigError(f"{where}: value {entry['value']!r} is not a number (null when unknown)")
        if entry["task"] == "detection" and entry.get("definition") not in DEFINITIONS:
            raise ConfigError(f"{where}: a detection cell names its definition, one of {', '.join(DEFINITIONS)} "
                              f"(has {entry.get('definition')!r})")
    return PaperResults(papers, pd.DataFrame(entries, columns=[*ENTRY_KEYS, "definition"]), tolerance, statistics)


def measured(datasets: dict[str, str], metrics_paths, model_paths, async_paths) -> pd.DataFrame:
    """One row per run × seed: family, dataset, test accuracy, MFLOP/ev (evrepro's convention) and latency per event
    (asynchronous families), parameters, epochs trained, the checkpoint scored and the training's hours."""
    rows = []
    for r in read_run_records(metrics_paths, model_paths, async_paths):
        flops, latency = (r.asynchronous.flops, r.asynchronous.latency_ms_per_event) if r.asynchronous else (None, None)
        rows.append({
            "run": r.run, "seed": r.seed, "family": r.test.family, "dataset": datasets[r.run],
            "accuracy": r.test.test_accuracy,
            "async_mflops_per_event": flops.async_mflops_per_event if flops else np.nan,
            "dense_mflops_per_event": flops.dense_mflops_per_event if flops else np.nan,
            "async_ms_per_event": latency.asynchronous.mean if latency else np.nan,
            "parameters": r.test.parameters,
            "epochs": r.model.training.get("epochs", np.nan),
            "best_epoch": r.test.best_epoch,
            "train_hours": r.model.compute.train_hours,
            "compat": ", ".join(name for block in (r.model.preprocessing, r.model.config, r.model.training)
                                for name in block.get("compat", ())),
        })
    columns = ["run", "seed", "family", "dataset", "accuracy", "async_mflops_per_event", "dense_mflops_per_event",
               "async_ms_per_event", "parameters", "epochs", "best_epoch", "train_hours", "compat"]
    return pd.DataFrame(rows, columns=columns)


def judge(metric: str, published, values, tolerance: dict, statistics: dict) -> Judgement:
    """A claim's status from its measured ``values`` (one per seed) against the published value (module docstring)."""
    values = np.asarray([v for v in values if not pd.isna(v)], dtype=float)
    if published is None or pd.isna(published):
        return Judgement("no published value", "", np.nan, np.nan, None)
    if values.size == 0:
        return Judgement("not run", "", np.nan, np.nan, None)
    mean = values.mean()
    if metric == "mflops_per_event":  # fewer is better; conventions differ (see the FLOP conventions table)
        within = bool(mean <= published * tolerance[metric])
        return Judgement("reproduced" if within else "not reproduced",
                         f"tolerance: at most {tolerance[metric]}x the published figure", np.nan, np.nan, within)
    within = bool(mean >= published - tolerance[metric])
    if values.size < statistics["min_seeds"]:
        return Judgement("too few seeds", f"{values.size} of the {statistics['min_seeds']} seeds an interval needs",
                         np.nan, np.nan, within)
    half = stats.t.ppf((1 + statistics["confidence"]) / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size)
    reproduced = bool(published <= mean + half)
    return Judgement("reproduced" if reproduced else "not reproduced",
                     f"{statistics['confidence']:.0%} t-interval of {values.size} seeds", mean - half, mean + half,
                     within)


def claims_table(paper: str, papers: dict, published: pd.DataFrame, per_seed: pd.DataFrame,
                 tolerance: dict, statistics: dict) -> pd.DataFrame:
    """Per recognition claim of ``paper``'s own method: one row per run of that family on that dataset (or one "not
    run" row). Runs that reproduce some of the original code's behaviours (a ``compat`` list) are not judged here,
    only in the ablation table: one of them picks its checkpoint on the test split. Detection claims have their own
    table (``evrepro.report.detection``)."""
    family = papers[paper]["family"]
    claims = published[(published["paper"] == paper) & published["ours"] & (published["task"] == "recognition")]
    fixed = per_seed[per_seed["compat"] == ""]
    rows = []
    for claim in claims.itertuples(index=False):
        runs = fixed[(fixed["family"] == family) & (fixed["dataset"] == claim.dataset)]
        base = {"dataset": claim.dataset, "task": claim.task, "metric": claim.metric, "published": claim.value,
                "verified": claim.verified, "source": claim.source}
        if runs.empty:
            rows.append({**base, "run": "", "seeds": 0,
                         **judge(claim.metric, claim.value, [], tolerance, statistics)._asdict()})
            continue
        for run, seeds in runs.groupby("run", sort=True):
            values = seeds[MEASURED[claim.metric]].astype(float)
            mean = values.mean()
            std = values.std(ddof=1) if len(values) > 1 else np.nan
            paper_epochs = papers[paper]["epochs"]
            paper_epochs = paper_epochs.get(claim.dataset) if isinstance(paper_epochs, dict) else paper_epochs
            rows.append({**base, "run": run, "seeds": len(values), "reproduced_mean": mean, "reproduced_std": std,
                         "delta": mean - claim.value if claim.value is not None else np.nan,
                         "epochs": int(seeds["epochs"].max()), "paper_epochs": paper_epochs,
                         "train_hours": seeds["train_hours"].sum(),
                         "checkpoint": "best validation accuracy, epoch " + "/".join(
                             str(int(e)) for e in seeds.sort_values("seed")["best_epoch"]),
                         **judge(claim.metric, claim.value, values, tolerance, statistics)._asdict()})
    columns = ["dataset", "task", "metric", "published", "verified", "run", "seeds", "reproduced_mean",
               "reproduced_std", "ci_low", "ci_high", "delta", "epochs", "paper_epochs", "train_hours", "checkpoint",
               "status", "criterion", "within_tolerance", "source"]
    return pd.DataFrame(rows, columns=columns)


def cross_table(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Both families on every dataset they ran on: accuracy (mean ± std), parameters, MFLOP/ev, latency per
    event, training time; one row per run."""
    rows = []
    for run, seeds in per_seed.groupby("run", sort=True):
        first = seeds.iloc[0]
        accuracy = seeds["accuracy"].astype(float)
        rows.append({"dataset": first["dataset"], "family": first["family"], "run": run, "seeds": len(seeds),
                     "accuracy_mean": accuracy.mean(),
                     "accuracy_std": accuracy.std(ddof=1) if len(seeds) > 1 else np.nan,
                     "parameters": int(first["parameters"]),
                     "async_mflops_per_event": seeds["async_mflops_per_event"].mean(),
                     "dense_mflops_per_event": seeds["dense_mflops_per_event"].mean(),
                     "async_ms_per_event": seeds["async_ms_per_event"].mean(),
                     "train_hours_per_seed": seeds["train_hours"].mean(),
                     "epochs": int(seeds["epochs"].max())})
    columns = ["dataset", "family", "run", "seeds", "accuracy_mean", "accuracy_std", "parameters",
               "async_mflops_per_event", "dense_mflops_per_event", "async_ms_per_event", "train_hours_per_seed",
               "epochs"]
    return pd.DataFrame(rows, columns=columns).sort_values(["dataset", "family", "run"], ignore_index=True)


def flop_conventions_table(datasets: dict[str, str], async_paths, published: pd.DataFrame) -> pd.DataFrame:
    """Per AEGNN run and FLOP convention (``async.json``'s ``conventions``: evrepro's, DAGr's last event, the AEGNN
    paper's protocol), MFLOP per event asynchronous and dense (means over seeds), beside AEGNN's published
    MFLOP/ev for that dataset, so each published figure meets the convention it used."""
    paper = published[(published["method"] == "AEGNN") & (published["task"] == "recognition")
                      & (published["metric"] == "mflops_per_event")].set_index("dataset")["value"]
    records: dict[tuple[str, str], list[dict]] = {}
    for path in async_paths:
        run, _ = run_and_seed(path)
        for name, convention in read_record(AsyncResult, path).conventions.items():
            records.setdefault((run, name), []).append(convention)
    rows = []
    for (run, name), seeds in sorted(records.items()):
        asynchronous = np.mean([c.async_mflops_per_event for c in seeds])
        dense = np.mean([c.dense_mflops_per_event for c in seeds])
        dataset = datasets[run]
        rows.append({"run": run, "dataset": dataset, "seeds": len(seeds), "convention": name,
                     "async_mflops_per_event": asynchronous, "dense_mflops_per_event": dense,
                     "dense_over_async": dense / asynchronous if asynchronous > 0 else np.nan,
                     "published_aegnn_mflops_per_event": paper.get(dataset, np.nan),
                     "description": seeds[0].description})
    columns = ["run", "dataset", "seeds", "convention", "async_mflops_per_event", "dense_mflops_per_event",
               "dense_over_async", "published_aegnn_mflops_per_event", "description"]
    return pd.DataFrame(rows, columns=columns)


def ablation_table(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Each family as published beside as fixed: on every dataset where a run reproduces some of the original code's
    behaviours (a ``compat`` list in its preprocessing, network or training), each run of that family's accuracy
    (mean ± std over seeds) with the behaviours it reproduces, its difference to the runs with evrepro's fixes, and
    its MFLOP/ev where it was evaluated event by event (a run with AEGNN's batch-dependent pooling has no exact such
    form)."""
    published = per_seed[per_seed["compat"] != ""]
    rows = []
    for (family, dataset), runs in per_seed.groupby(["family", "dataset"], sort=True):
        if not ((published["family"] == family) & (published["dataset"] == dataset)).any():
            continue
        fixed = runs[runs["compat"] == ""]["accuracy"].astype(float)
        for run, seeds in runs.groupby("run", sort=True):
            accuracy = seeds["accuracy"].astype(float)
            compat = seeds["compat"].iloc[0]
            rows.append({"family": family, "dataset": dataset, "run": run,
                         "original_behaviours": compat or "none (evrepro's fixes)", "seeds": len(seeds),
                         "accuracy_mean": accuracy.mean(),
                         "accuracy_std": accuracy.std(ddof=1) if len(seeds) > 1 else np.nan,
                         "delta_vs_fixed": accuracy.mean() - fixed.mean() if len(fixed) else np.nan,
                         "async_mflops_per_event": seeds["async_mflops_per_event"].astype(float).mean()})
    return pd.DataFrame(rows, columns=["family", "dataset", "run", "original_behaviours", "seeds", "accuracy_mean",
                                       "accuracy_std", "delta_vs_fixed", "async_mflops_per_event"])


def summary_table(claims: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per paper, how many of its claims (one per run where several runs answer one claim) are reproduced, not
    reproduced, have too few seeds, are not run, or have no published value, and the criteria those statuses used."""
    rows = []
    for paper, table in claims.items():
        counts = table["status"].value_counts()
        decided = table[table["criterion"].fillna("") != ""].groupby(["status", "criterion"], sort=True).size()
        criteria = "; ".join(f"{status}: {criterion} ({count})" for (status, criterion), count in decided.items())
        rows.append({"paper": paper, **{status: int(counts.get(status, 0)) for status in STATUSES},
                     "criteria": criteria})
    return pd.DataFrame(rows, columns=["paper", *STATUSES, "criteria"])


def write_paper_tables(paper_results_path, datasets: dict[str, str], metrics_paths, model_paths, async_paths,
                       out_csv: dict[str, str | Path]) -> dict[str, pd.DataFrame]:
    """Write ``claims_<paper>`` for every paper, ``cross``, ``flop_conventions``, ``summary`` and, when ``out_csv``
    asks for it (some run sets a ``compat`` list), ``ablation`` to the CSV paths of ``out_csv`` (each also as
    Markdown and LaTeX beside it); returns the tables by name."""
    papers, published, tolerance, statistics = load_paper_results(paper_results_path)
    per_seed = measured(datasets, metrics_paths, model_paths, async_paths)
    claims = {paper: claims_table(paper, papers, published, per_seed, tolerance, statistics) for paper in papers}
    tables = {**{f"claims_{paper}": table for paper, table in claims.items()},
              "cross": cross_table(per_seed),
              "flop_conventions": flop_conventions_table(datasets, async_paths, published),
              **({"ablation": ablation_table(per_seed)} if "ablation" in out_csv else {}),
              "summary": summary_table(claims)}
    for name, table in tables.items():
        write_table(table, out_csv[name])
    return tables
