"""The detection table: every detection run × seed scored under each named definition, beside the trivial baseline.

One row per run, seed and metric (``evrepro.detection.metrics.METRICS``, with its definition spelled out), and a
``mean`` row per run and metric over its seeds: no cell without the definition that produced it.
"""

import pandas as pd

from evrepro.detection.metrics import METRICS
from evrepro.layout import run_and_seed
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


def write_detection_table(metrics_paths, datasets: dict[str, str], csv_path) -> None:
    write_table(detection_table(metrics_paths, datasets), csv_path)
