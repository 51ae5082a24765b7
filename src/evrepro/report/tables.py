"""Summary tables written under ``results/tables``."""

from pathlib import Path

import numpy as np
import pandas as pd

from evrepro.datasets.store import EventsStore
from evrepro.fileio import atomic_output


def datasets_table(stores: dict[str, str | Path]) -> pd.DataFrame:
    """One row per dataset and split: samples, classes, events per sample, duration."""
    rows = []
    for name, path in stores.items():
        with EventsStore(path) as store:
            for split in store.splits:
                counts = store.event_counts(split)
                durations_ms = store.durations_us(split) / 1000
                rows.append({
                    "dataset": name,
                    "split": split,
                    "samples": counts.size,
                    "classes": np.unique(store.labels(split)).size,
                    "events_mean": counts.mean(),
                    "events_median": np.median(counts),
                    "events_min": counts.min(),
                    "events_max": counts.max(),
                    "duration_ms_mean": durations_ms.mean(),
                    "duration_ms_max": durations_ms.max(),
                })
    return pd.DataFrame(rows)


def write_datasets_table(stores: dict[str, str | Path], out_csv: str | Path) -> pd.DataFrame:
    """Write ``datasets_table`` to ``out_csv`` atomically (floats rounded to 0.1)."""
    table = datasets_table(stores).round(1)
    with atomic_output(out_csv) as temporary:
        table.to_csv(temporary, index=False)
    return table
