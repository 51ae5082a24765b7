"""Real Snakemake runs on a tiny config in a temporary copy of the workflow."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from browser import rendered_dom, screenshot
from evrepro.datasets.store import EventsStore
from evrepro.training.record import AsyncResult, read_record
from project import (TINY_AEGNN, copy_project, dry_run_jobs, make_project, paper_config_with_local_copies, snakemake,
                     tiny_config, write_config)

pytestmark = pytest.mark.workflow


def test_pipeline_runs_end_to_end_and_builds_the_report(tmp_path):
    root = make_project(tmp_path, tiny_config())
    result = snakemake(root, "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    with EventsStore(root / "results/events/digits.h5") as store:
        assert store.splits == ["train", "val", "test"]
        assert sum(store.num_samples(split) for split in store.splits) == 30
    table = pd.read_csv(root / "results/tables/datasets.csv")
    assert table["split"].tolist() == ["train", "val", "test"] and table["samples"].sum() == 30
    assert table["events_mean"].between(2000, 7000).all() and table["duration_ms_mean"].between(270, 320).all()
    assert (root / "results/figures/digits_samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for log in ("fetch/digits", "extract/digits", "events/digits", "report/datasets_table"):
        assert (root / f"logs/{log}.log").exists()
    assert "digits: recording" in (root / "logs/fetch/digits.log").read_text()  # progress goes to the log
    assert not (root / "resources/raw/digits").exists()  # the unpacked files: an intermediate, removed

    again = snakemake(root, "--cores", "2")
    assert again.returncode == 0 and "Nothing to be done" in again.stderr + again.stdout

    report = snakemake(root, "--report", "results/report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    html = (root / "results/report.html").read_text()
    assert "datasets.csv" in html and "digits_samples.png" in html


def test_aegnn_and_ecn_runs_train_evaluate_and_reach_the_tables_figures_and_report(trained_project, tmp_path):
    # the shared project (project.shared_config): AEGNN run a (seeds 0, 1), ECN run e, run with one thread per job
    root = copy_project(trained_project, tmp_path)
    for run in ("a/seed-0", "a/seed-1", "e/seed-0"):  # the thread the job was granted reached torch / TF
        assert json.loads((root / f"results/runs/{run}/model.json").read_text())["threads"] == 1
    caches = list((root / "results/graphs/digits").glob("*.h5")) + list((root / "results/streams/digits").glob("*.h5"))
    assert len(caches) == 2 and all(len(cache.stem) == 10 for cache in caches)
    for seed in (0, 1):
        folder = root / f"results/runs/a/seed-{seed}"
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["parameters"] == 34_458 and metrics["device"] == "cpu"
        assert len(pd.read_csv(folder / "history.csv")) == 2
        assert yaml.safe_load((folder / "config.yaml").read_text())["preprocessing"]["events_per_sample"] == 200
        result = read_record(AsyncResult, folder / "async.json")
        assert result.streams == 2 and result.events == 400
        assert result.max_abs_difference.any_layer <= 1e-4
        assert result.flops.async_mflops_per_event < result.flops.dense_mflops_per_event
    ecn = root / "results/runs/e/seed-0"
    metrics = json.loads((ecn / "metrics.json").read_text())
    assert metrics["family"] == "ecn" and metrics["parameters"] > 0 and metrics["device"] == "cpu"
    assert len(pd.read_csv(ecn / "history.csv")) == 2 and (ecn / "checkpoints/best.npz").exists()
    resolved = yaml.safe_load((ecn / "config.yaml").read_text())
    assert resolved["preprocessing"]["cache_repeats"] == 2 and resolved["network"]["filters0"] == 4
    compute = pd.read_csv(root / "results/tables/compute.csv", keep_default_na=False)
    jobs = compute[compute["stage"] != "total"]
    expected = ["graphs", "streams"] + ["train"] * 3 + ["evaluate"] * 3 + ["async_eval"] * 2
    assert sorted(jobs["stage"]) == sorted(expected)
    assert (jobs["wall_s"] > 0).all() and (jobs["peak_rss_mb"] > 50).all()
    assert set(jobs.loc[jobs["stage"] == "train", "source"]) == {"checkpoint (1 job)"}
    for run, total in compute[compute["stage"] == "total"].set_index("run").iterrows():
        own = jobs[(jobs["run"] == run) & (jobs["stage"] != "graphs") & (jobs["stage"] != "streams")]
        # every value is rounded to 0.1 s on its own, the total from the unrounded ones
        assert total["wall_s"] == pytest.approx(own["wall_s"].sum(), abs=0.05 * (len(own) + 1) + 1e-9)
    runs = pd.read_csv(root / "results/tables/runs.csv")
    assert runs["run"].tolist() == ["a", "a", "e", "a"]
    assert runs["family"].tolist() == ["aegnn", "aegnn", "ecn", "aegnn"]
    trainings = jobs[jobs["stage"] == "train"].set_index(["run", "seed"])["wall_s"]
    for row in runs[runs["seed"] != "mean"].itertuples():  # one training time: every job of the training, in hours
        assert row.train_hours == pytest.approx(trainings[row.run, str(row.seed)] / 3600, abs=1e-4)
    assert runs["seed"].astype(str).tolist() == ["0", "1", "0", "mean"]
    assert runs["test_accuracy"].iloc[3] == pytest.approx(runs["test_accuracy"].iloc[:2].mean(), abs=1e-4)
    assert pd.read_csv(root / "results/tables/async.csv")["seed"].tolist() == [0, 1]
    figures = ["training_curves.png", "async_flops_per_layer.png", "score_vs_events.png", "accuracy_vs_mflops.png",
               f"streams/digits-{caches[1].stem}_levels.png", f"streams/digits-{caches[1].stem}_neighbourhood.png",
               f"graphs/digits-{caches[0].stem}_graph.png"]
    for figure in figures:
        assert (root / "results/figures" / figure).stat().st_size > 10_000, figure
        with Image.open(root / "results/figures" / figure) as image:  # 200 dpi: at least a 3.4 in paper column
            assert image.size[0] >= 3.4 * 200 and image.size[1] >= 400, (figure, image.size)
        pdf = (root / "results/figures" / figure).with_suffix(".pdf").read_bytes()
        assert pdf.startswith(b"%PDF-") and len(pdf) > 5_000, figure
    check_paper_tables(root, runs)
    report = snakemake(root, "--report", "results/report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    html = (root / "results/report.html").read_text()
    names = ("runs.csv", "compute.csv", "async.csv", "async_flops_per_layer.png", "_levels.png", "claims_aegnn.csv",
             "cross.csv", "summary.csv", "accuracy_vs_mflops.png")
    assert all(name in html for name in names)
    check_report_in_a_browser(root)


def check_paper_tables(root, runs: pd.DataFrame) -> None:
    """Every number of the paper tables is the one in the run record it came from; no digits run answers a claim."""
    cross = pd.read_csv(root / "results/tables/cross.csv").set_index("run")
    per_seed = runs[runs["seed"] != "mean"]
    for run, seeds in per_seed.groupby("run"):
        assert cross.loc[run, "seeds"] == len(seeds)
        assert cross.loc[run, "accuracy_mean"] == pytest.approx(seeds["test_accuracy"].mean(), abs=1e-4)
        assert cross.loc[run, "parameters"] == seeds["parameters"].iloc[0]
    flops = [read_record(AsyncResult, root / f"results/runs/a/seed-{s}/async.json").flops.async_mflops_per_event
             for s in (0, 1)]
    assert min(flops) > 0
    assert cross.loc["a", "async_mflops_per_event"] == pytest.approx(np.mean(flops))
    assert np.isnan(cross.loc["e", "async_mflops_per_event"])  # missing, not zero
    assert cross.loc["a", "train_hours_per_seed"] == pytest.approx(per_seed[per_seed["run"] == "a"]["train_hours"]
                                                                   .mean(), abs=1e-4)
    conventions = pd.read_csv(root / "results/tables/flop_conventions.csv").set_index("convention")
    assert set(conventions.index) == {"evrepro", "dagr_last_event", "aegnn_paper_protocol"}
    assert conventions.loc["evrepro", "async_mflops_per_event"] == pytest.approx(np.mean(flops))
    assert (conventions["seeds"] == 2).all() and conventions["published_aegnn_mflops_per_event"].isna().all()
    for paper in ("aegnn", "ecn"):
        claims = pd.read_csv(root / f"results/tables/claims_{paper}.csv")
        assert set(claims["status"]) <= {"not run", "no published value"} and claims["reproduced_mean"].isna().all()
    assert "| `results/tables/cross.csv` |" in (root / "results/README.md").read_text()
    for name in ("cross", "summary", "runs", "datasets"):
        assert "\\toprule" in (root / f"results/tables/{name}.tex").read_text()
        assert (root / f"results/tables/{name}.md").read_text().startswith("|")


def check_report_in_a_browser(root) -> None:
    """The report, rendered by Chromium, opens on the reproduction summary, one line per claim, and lists the
    categories holding the tables and figures."""
    dom = rendered_dom(root / "results/report.html")
    assert "Reproduction summary" in dom
    for paper in ("aegnn", "ecn"):
        claims = pd.read_csv(root / f"results/tables/claims_{paper}.csv")
        shown = dom.count(f"{paper.upper()}, ")
        assert shown >= len(claims), (paper, shown, len(claims))
    for category in ("AEGNN paper", "ECN paper", "Datasets", "Results", "ECN model", "AEGNN model",
                     "Reproduction summary"):
        assert f">{category}<" in dom, category
    png = screenshot(root / "results/report.html", root / "report.png")
    assert png.stat().st_size > 50_000  # a rendered page, not a blank one


def test_changing_the_generator_seed_rebuilds_the_data(tmp_path):
    root = make_project(tmp_path, tiny_config(max_images=12))
    assert snakemake(root, "--cores", "2").returncode == 0
    with EventsStore(root / "results/events/digits.h5") as store:
        before = store.sample("train", 0)
    config = tiny_config(max_images=12)
    config["datasets"]["digits"]["generator"]["seed"] = 7
    (root / "config/config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(root, "--cores", "2")
    assert result.returncode == 0 and "rule fetch" in result.stdout + result.stderr
    with EventsStore(root / "results/events/digits.h5") as store:
        assert not np.array_equal(store.sample("train", 0), before)


@pytest.mark.parametrize("config, key", [
    ({"datsets": {"digits": {}}}, "datsets"),
    ({"datasets": {"digits": {"generatr": {"seed": 1}}}}, "generatr"),
    ({"datasets": {"digits": {"generator": {"recordings_per_imag": 2}}}}, "recordings_per_imag"),
    ({"datasets": {"digits": {}}, "report": {"samples_per_clas": 2}}, "samples_per_clas"),
])
def test_a_typo_in_a_config_key_fails_at_start_up_naming_the_key(tmp_path, config, key):
    root = make_project(tmp_path, config)
    result = snakemake(root, "-n", "--cores", "1")
    assert result.returncode != 0
    assert f"'{key}' was unexpected" in result.stdout + result.stderr
    assert not (root / "resources").exists()


def test_a_run_on_an_unconfigured_dataset_is_refused_naming_the_run(tmp_path):
    config = tiny_config()
    config["runs"] = {"cars": {"family": "aegnn", "dataset": "ncars"}}
    result = snakemake(make_project(tmp_path, config), "-n", "--cores", "1")
    assert result.returncode != 0
    assert "runs.cars.dataset: 'ncars' is not configured" in result.stdout + result.stderr


def test_lint_reports_no_problems(tmp_path):
    result = snakemake(make_project(tmp_path, tiny_config()), "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


def test_the_paper_configuration_plans_every_dataset_and_both_families(tmp_path):
    make_project(tmp_path, tiny_config())  # config/config.yaml is digits; --configfile replaces it
    paper = paper_config_with_local_copies(tmp_path)
    jobs = dry_run_jobs(tmp_path, "--configfile", "config/paper.yaml")
    datasets = {"nmnist", "ncaltech101", "ncars", "cifar10-dvs", "mnist-dvs", "asl-dvs"}
    assert set(paper["datasets"]) == datasets | {"gen1"}
    for rule in ("fetch", "extract", "events"):
        planned = {job for job in jobs if job.startswith(f"{rule}[")}
        assert planned == {f"{rule}[dataset={d}]" for d in datasets | {"gen1"}}
    assert {job for job in jobs if job.startswith("samples_figure[")} == {f"samples_figure[dataset={d}]"
                                                                          for d in datasets}
    trained = {(job.split("[")[0], job.split("run=")[1].split(",")[0]) for job in jobs if job.startswith("train_")}
    expected = {(f"train_{run['family']}", name) for name, run in paper["runs"].items()}
    assert trained == expected
    assert {run["family"] for run in paper["runs"].values()} == {"aegnn", "ecn", "aegnn_detection"}
    detection = {run["dataset"] for run in paper["runs"].values() if run["family"] == "aegnn_detection"}
    assert detection == {"gen1", "ncaltech101"}  # both detection datasets, each with its detection cache
    assert {job.split("dataset=")[1].split(",")[0] for job in jobs if job.startswith("detection_graphs[")} == detection
    ecn_datasets = {run["dataset"] for run in paper["runs"].values() if run["family"] == "ecn"}
    aegnn_datasets = {run["dataset"] for run in paper["runs"].values() if run["family"] == "aegnn"}
    assert ecn_datasets == datasets and aegnn_datasets == datasets  # and each family on the other's datasets
    assert not any("digits" in job for job in jobs)
    seeds = sum(len(run.get("seeds", [0])) for run in paper["runs"].values())
    evaluations = ("evaluate_aegnn[", "evaluate_ecn[", "evaluate_aegnn_detection[")
    assert sum(job.startswith(evaluations) for job in jobs) == seeds


def test_a_run_with_the_original_s_pooling_is_trained_and_evaluated_densely_not_event_by_event(tmp_path):
    original = {**TINY_AEGNN, "seeds": [0], "network": {**TINY_AEGNN["network"], "compat": ["data_origin"]}}
    # the original's preprocessing gives another graph cache, which the exact engine can follow event by event
    seconds = {**TINY_AEGNN, "seeds": [0],
               "preprocessing": {**TINY_AEGNN["preprocessing"], "compat": ["time_in_seconds", "median_window"]}}
    jobs = dry_run_jobs(make_project(tmp_path, tiny_config(runs={"fixed": {**TINY_AEGNN, "seeds": [0]},
                                                                  "original": original, "seconds": seconds})))
    for rule in ("train_aegnn", "evaluate_aegnn"):
        assert {f"{rule}[run={run}, seed=0]" for run in ("fixed", "original", "seconds")} <= jobs
    assert {job for job in jobs if job.startswith("async_eval[")} == {"async_eval[run=fixed, seed=0]",
                                                                       "async_eval[run=seconds, seed=0]"}
    assert len({job for job in jobs if job.startswith("graphs[")}) == 2  # the fixed and the original's graphs
    assert "paper_tables" in jobs
    write_config(tmp_path, tiny_config(runs={"bad": {**original, "network": {"preset": "ncars", "compat": ["x"]}}}))
    refused = snakemake(tmp_path, "-n")
    assert refused.returncode != 0 and "compat" in refused.stdout + refused.stderr


@pytest.mark.parametrize("dataset, block, refusal", [
    ("ncars", {"root": "/no/such/ncars"},
     "config datasets.ncars.root: /no/such/ncars does not exist (point it at your copy of ncars;"),
    ("gen1", {}, "config datasets.gen1: cannot be downloaded and has no root: "),
])
def test_planning_refuses_a_dataset_it_cannot_obtain_in_one_line(tmp_path, dataset, block, refusal):
    config = tiny_config()
    config["datasets"][dataset] = block
    result = snakemake(make_project(tmp_path, config), "-n")
    assert result.returncode != 0
    assert refusal in result.stdout + result.stderr
