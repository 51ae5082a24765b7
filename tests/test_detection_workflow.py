"""AEGNN's detection run through the real workflow on the embedded detection set: fetch -> extract -> events ->
detection graphs -> train -> evaluate -> the detection table and the report; a run whose family does not fit its
dataset's task is refused while planning."""

import json

import pandas as pd
import pytest
from project import make_project, snakemake, tiny_config

pytestmark = pytest.mark.workflow

DETECTION_RUN = {"family": "aegnn_detection", "dataset": "traffic", "seeds": [0],
                 "preprocessing": {"preset": "traffic", "events_per_sample": 300},
                 "network": {"preset": "ncars", "pool_voxel": [4, 4]},
                 "training": {"epochs": 2, "batch_size": 8}}


def detection_config(runs) -> dict:
    config = tiny_config(runs=runs)
    config["datasets"]["traffic"] = {"generator": {"train_recordings": 4, "val_recordings": 1, "test_recordings": 1,
                                                   "duration_ms": 1000.0}}
    return config


def test_a_detection_run_trains_evaluates_and_reaches_its_table_and_the_report(tmp_path):
    root = make_project(tmp_path, detection_config({"d": DETECTION_RUN}))
    result = snakemake(root, "--cores", "2")
    assert result.returncode == 0, result.stderr[-4000:]
    metrics = json.loads((root / "results/runs/d/seed-0/metrics.json").read_text())
    assert metrics["task"] == "detection" and metrics["family"] == "aegnn_detection"
    table = pd.read_csv(root / "results/tables/detection.csv")
    seed_rows = table[table["seed"] == "0"].set_index("metric")
    assert list(seed_rows.index) == ["coco_ap", "coco_ap50", "gen1_ap", "gen1_ap50", "per_sample_map"]
    for metric, row in seed_rows.iterrows():  # every number comes from the run's record, with its definition
        assert row["value"] == pytest.approx(metrics["scores"][metric]) or pd.isna(row["value"])
        assert row["baseline"] == pytest.approx(metrics["baseline"][metric]) or pd.isna(row["baseline"])
        assert isinstance(row["definition"], str) and row["definition"]
    assert (root / "results/runs/d/seed-0/detections.npz").exists()
    figure = root / "results/figures/detection/d_seed-0_boxes.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.with_suffix(".pdf").exists()
    claims = pd.read_csv(root / "results/tables/detection_claims.csv")  # AEGNN's Gen1 and N-Caltech101 cells
    assert set(claims["dataset"]) == {"gen1", "ncaltech101"} and set(claims["status"]) <= {"not run",
                                                                                           "no published value"}
    # event by event: exact against the dense detector, its FLOPs and its COCO AP50 after n events
    asynchronous = pd.read_csv(root / "results/tables/async.csv").set_index("run").loc["d"]
    assert asynchronous["metric"] == "coco_ap50" and asynchronous["max_abs_difference"] <= 1e-4
    assert 0 < asynchronous["async_mflops_per_event"] < asynchronous["dense_mflops_per_event"]
    curve = pd.read_csv(root / "results/runs/d/seed-0/score_vs_events.csv")
    assert curve["events"].iloc[-1] == 300
    assert asynchronous["score_all_events"] == pytest.approx(curve["score"].iloc[-1])
    assert (root / "results/figures/score_vs_events.png").exists()
    assert not (root / "results/tables/runs.csv").exists()  # no classification run, no classification tables
    compute = pd.read_csv(root / "results/tables/compute.csv")
    assert "d" in set(compute["run"].dropna())
    datasets = pd.read_csv(root / "results/tables/datasets.csv")
    assert set(datasets["dataset"]) == {"digits", "traffic"}
    assert "detection.csv" in (root / "results/README.md").read_text()
    report = snakemake(root, "--report", "results/report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    assert "detection.csv" in (root / "results/report.html").read_text()


@pytest.mark.parametrize("family, dataset, task", [("aegnn", "traffic", "detection"),
                                                   ("aegnn_detection", "digits", "classification")])
def test_a_family_that_does_not_fit_its_dataset_s_task_is_refused_while_planning(tmp_path, family, dataset, task):
    root = make_project(tmp_path, detection_config({"x": {"family": family, "dataset": dataset}}))
    result = snakemake(root, "-n")
    assert result.returncode != 0
    refusal = f"config runs.x.dataset: '{dataset}' is a {task} dataset and family '{family}'"
    assert refusal in result.stdout + result.stderr
