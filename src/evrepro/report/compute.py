"""The compute budget behind the results: wall time, CPU time and peak memory per job, and per run.

Cache, evaluation and asynchronous-evaluation jobs are read from their Snakemake benchmark records
(the job's last execution). A training is read from its ``model.json``, whose ``compute`` the
checkpoints carried across every job that ran it (``evrepro.training.folder.ComputeMeter``): a benchmark
would see only the last job, which after a kill resumes, and after a rerun of a complete training
merely rewrites its outputs.
"""

from pathlib import Path

import pandas as pd

from evrepro import layout
from evrepro.report.table_files import write_table
from evrepro.training.record import ModelRecord, read_record

COLUMNS = ["run", "seed", "stage", "job", "wall_s", "cpu_s", "peak_rss_mb", "source"]


def benchmark_record(path) -> dict:
    """Wall seconds, CPU seconds and peak resident memory (MB) of a Snakemake benchmark file."""
    row = pd.read_csv(path, sep="\t").iloc[-1]
    return {"wall_s": float(row["s"]), "cpu_s": float(row["cpu_time"]), "peak_rss_mb": float(row["max_rss"])}


def _run_job_rows(paths, stage: str) -> list[dict]:
    rows = []
    for path in paths:
        job = layout.parse(layout.job_file(layout.BENCHMARK, stage, layout.RUN_JOB), path)
        rows.append({"run": job["run"], "seed": job["seed"], "stage": stage, "job": Path(path).stem,
                     **benchmark_record(path), "source": "benchmark"})
    return rows


def compute_table(caches: dict[str, list[str]], models, evaluations, asyncs) -> pd.DataFrame:
    """One row per job, then a ``total`` row per run over its trainings, evaluations and asynchronous evaluations.

    ``caches`` maps each cache job's benchmark file to the runs that train on that cache (it is shared, so it
    is listed once and not added to their totals); ``models`` are the runs' model.json files.
    """
    rows = []
    for path, runs in caches.items():
        stage = Path(path).parent.name
        rows.append({"run": ",".join(runs), "seed": "", "stage": stage, "job": Path(path).stem,
                     **benchmark_record(path), "source": "benchmark"})
    for path in models:
        run, seed = layout.run_and_seed(path)
        compute = read_record(ModelRecord, path).compute
        rows.append({"run": run, "seed": str(seed), "stage": "train", "job": layout.fill(layout.RUN_JOB, run=run,
                                                                                          seed=seed),
                     "wall_s": compute.wall_s, "cpu_s": compute.cpu_s, "peak_rss_mb": compute.peak_rss_mb,
                     "source": f"checkpoint ({compute.jobs} job{'s' if compute.jobs > 1 else ''})"})
    rows += _run_job_rows(evaluations, "evaluate") + _run_job_rows(asyncs, "async_eval")
    table = pd.DataFrame(rows, columns=COLUMNS)
    per_run = table[table["stage"].isin(["train", "evaluate", "async_eval"])]
    totals = [{"run": run, "seed": "all", "stage": "total", "job": "", "wall_s": group["wall_s"].sum(),
               "cpu_s": group["cpu_s"].sum(), "peak_rss_mb": group["peak_rss_mb"].max(), "source": ""}
              for run, group in per_run.groupby("run", sort=True)]
    return pd.concat([table, pd.DataFrame(totals, columns=COLUMNS)], ignore_index=True)


def write_compute_table(caches, models, evaluations, asyncs, out_csv) -> pd.DataFrame:
    """Write ``compute_table`` to ``out_csv`` (and Markdown and LaTeX beside it) atomically (seconds and MB
    to 0.1)."""
    table = compute_table(caches, models, evaluations, asyncs).round({"wall_s": 1, "cpu_s": 1, "peak_rss_mb": 1})
    write_table(table, out_csv, digits=6)
    return table
