"""Summary tables written under ``results/tables``."""

from pathlib import Path

import numpy as np
import pandas as pd

from evrepro.datasets.recordings_store import RecordingsStore, open_events
from evrepro.datasets.store import EventsStore
from evrepro.layout import run_and_seed
from evrepro.report.table_files import write_table
from evrepro.training.record import AsyncResult, RunRecord, read_record, read_run_records


def class_counts(store: EventsStore | RecordingsStore, split: str) -> dict:
    """Classes in a split (a detection dataset: among its boxes, and the number of boxes)."""
    if isinstance(store, RecordingsStore):
        classes = np.concatenate([store.boxes(split, i)["class_id"] for i in range(store.num_samples(split))])
        return {"classes": np.unique(classes).size, "boxes": classes.size}
    return {"classes": np.unique(store.labels(split)).size}


def datasets_table(stores: dict[str, str | Path]) -> pd.DataFrame:
    """One row per dataset and split: samples, classes, events per sample, duration, recordings set right,
    orientation fixes and the SHA-256 of the split manifest (equal hashes: the same samples in every split).

    A split whose every recording was left out (empty) keeps its row, with 0 samples.
    """
    rows = []
    for name, path in stores.items():
        with open_events(path) as store:
            empty, resorted = store.set_right("empty"), store.set_right("resorted")
            named = {record["split"] for record in empty + resorted}
            for split in store.splits + sorted(named - set(store.splits)):
                row = {"dataset": name, "split": split, "samples": 0}
                if split in store.splits:
                    counts = store.event_counts(split)
                    durations_ms = store.durations_us(split) / 1000
                    row.update({
                        "samples": counts.size,
                        **class_counts(store, split),
                        "events_mean": counts.mean(),
                        "events_median": np.median(counts),
                        "events_min": counts.min(),
                        "events_max": counts.max(),
                        "duration_ms_mean": durations_ms.mean(),
                        "duration_ms_max": durations_ms.max(),
                    })
                row["empty_left_out"] = sum(record["split"] == split for record in empty)
                row["resorted"] = sum(record["split"] == split for record in resorted)
                row["orientation"] = "+".join(store.orientation) or "as recorded"
                row["split_manifest_sha256"] = store.split_manifest_sha256
                rows.append(row)
    return pd.DataFrame(rows)


def write_datasets_table(stores: dict[str, str | Path], out_csv: str | Path) -> pd.DataFrame:
    """Write ``datasets_table`` to ``out_csv`` (and Markdown and LaTeX beside it) atomically, floats to 0.1."""
    table = datasets_table(stores).round(1)
    write_table(table, out_csv)
    return table


RUN_COLUMNS = ["test_accuracy", "test_top3_accuracy", "best_val_accuracy", "best_epoch", "parameters", "train_hours"]


def runs_table(records: list[RunRecord], datasets: dict[str, str]) -> pd.DataFrame:
    """One row per run × seed, then a ``mean`` row per run with several seeds (``datasets``: run → dataset)."""
    rows = [{"run": r.run, "seed": r.seed, "family": r.test.family, "dataset": datasets[r.run],
             "test_accuracy": r.test.test_accuracy, "test_top3_accuracy": r.test.test_top3_accuracy,
             "best_val_accuracy": r.test.best_val_accuracy, "best_epoch": r.test.best_epoch,
             "parameters": r.test.parameters, "train_hours": r.model.compute.train_hours, "device": r.test.device}
            for r in records]
    table = pd.DataFrame(rows).sort_values(["run", "seed"])
    means = [
        {"run": run, "seed": "mean", "family": group["family"].iloc[0], "dataset": group["dataset"].iloc[0],
         **group[RUN_COLUMNS].mean().to_dict(), "device": group["device"].iloc[0]}
        for run, group in table.groupby("run") if len(group) > 1
    ]
    return pd.concat([table, pd.DataFrame(means)], ignore_index=True) if means else table.reset_index(drop=True)


def write_runs_table(metrics_paths, model_paths, datasets: dict[str, str], out_csv: str | Path) -> pd.DataFrame:
    """Write ``runs_table`` to ``out_csv`` (and Markdown and LaTeX beside it) atomically."""
    table = runs_table(read_run_records(metrics_paths, model_paths), datasets).round(4)
    write_table(table, out_csv, digits=4)
    return table


def async_table(async_paths) -> pd.DataFrame:
    """One row per AEGNN run × seed from async.json: FLOPs (evrepro's convention) and latency per event, dense and
    asynchronous."""
    rows = []
    for path in async_paths:
        run, seed = run_and_seed(path)
        result = read_record(AsyncResult, path)
        latency = result.latency_ms_per_event
        rows.append({"run": run, "seed": seed, "streams": result.streams, "events": result.events,
                     "dense_mflops_per_event": result.flops.dense_mflops_per_event,
                     "async_mflops_per_event": result.flops.async_mflops_per_event,
                     "flops_ratio": result.speedup.flops,
                     "dense_ms_per_event": latency.dense.mean, "async_ms_per_event": latency.asynchronous.mean,
                     "latency_ratio": result.speedup.latency_mean, "device": latency.device,
                     "max_abs_difference": result.max_abs_difference.any_layer,
                     "metric": result.score_vs_events.metric, "score_all_events": result.score_vs_events.score[-1]})
    return pd.DataFrame(rows).sort_values(["run", "seed"]).reset_index(drop=True)


def write_async_table(async_paths, out_csv: str | Path) -> pd.DataFrame:
    """Write ``async_table`` to ``out_csv`` (and Markdown and LaTeX beside it) atomically (max_abs_difference
    kept in full)."""
    table = async_table(async_paths)
    rounded = table.drop(columns="max_abs_difference").round(4)
    rounded.insert(rounded.columns.get_loc("device") + 1, "max_abs_difference", table["max_abs_difference"])
    write_table(rounded, out_csv, digits=4)
    return rounded
