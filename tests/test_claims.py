"""The papers' claims beside the run records: every number traced to the file it came from, seeds aggregated,
a missing run shown as missing (never zero), the three file formats, and bad entries named."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO
from records import async_result
from evrepro import layout
from evrepro.errors import ConfigError
from evrepro.report.claims import STATUSES, ablation_table, judge, load_paper_results, write_paper_tables
from evrepro.training.record import Compute, ModelRecord, MetricsRecord, write_record

FAMILY = {"aegnn_ncars": "aegnn", "ecn_nmnist": "ecn", "ecn_ncars": "ecn"}
DATASETS = {"aegnn_ncars": "ncars", "ecn_nmnist": "nmnist", "ecn_ncars": "ncars"}
ACCURACY = {("aegnn_ncars", 0): 0.95, ("aegnn_ncars", 1): 0.93, ("aegnn_ncars", 2): 0.97,
            ("ecn_nmnist", 0): 0.99, ("ecn_ncars", 0): 0.91}
MFLOPS = {("aegnn_ncars", 0): 0.40, ("aegnn_ncars", 1): 0.44, ("aegnn_ncars", 2): 0.45}


def write_run_records(root) -> tuple[list, list, list]:
    """metrics.json, model.json (and async.json for AEGNN) of every run × seed, with known values."""
    metrics, models, asyncs = [], [], []
    for (run, seed), accuracy in ACCURACY.items():
        def path(template):
            target = root / layout.fill(template, run=run, seed=seed)
            target.parent.mkdir(parents=True, exist_ok=True)
            return target

        parameters = 1000 + len(run)
        metrics.append(path(layout.METRICS))
        write_record(metrics[-1], MetricsRecord(
            family=FAMILY[run], seed=seed, test_accuracy=accuracy, test_top3_accuracy=1.0, test_loss=0.1,
            test_samples=100, best_epoch=10 + seed, best_val_accuracy=0.9, parameters=parameters, device="cpu"))
        models.append(path(layout.MODEL))
        write_record(models[-1], ModelRecord(
            family=FAMILY[run], architecture="", config={}, training={"epochs": 20}, seed=seed, device="cpu", threads=1,
            parameters=parameters, non_trainable_parameters=0, compute=Compute(7200.0 * (seed + 1), 0.0, 0.0, 1)))
        if (run, seed) in MFLOPS:
            asyncs.append(path(layout.ASYNC))
            write_record(asyncs[-1], async_result(MFLOPS[run, seed], 2.0 + seed))
    return metrics, models, asyncs


@pytest.fixture()
def tables(tmp_path):
    metrics, models, asyncs = write_run_records(tmp_path)
    names = ["claims_aegnn", "claims_ecn", "cross", "flop_conventions", "ablation", "summary"]
    out = {name: tmp_path / f"tables/{name}.csv" for name in names}
    write_paper_tables(REPO / layout.PAPER_RESULTS, DATASETS, metrics, models, asyncs, out)
    return {name: pd.read_csv(path) for name, path in out.items()} | {"paths": out}


def test_each_claim_of_aegnn_stands_beside_the_mean_and_std_of_its_seeds(tables):
    claims = tables["claims_aegnn"].set_index(["dataset", "metric"])
    accuracy = claims.loc[("ncars", "accuracy")]
    seeds = [ACCURACY["aegnn_ncars", s] for s in range(3)]
    assert accuracy["published"] == 0.945 and not accuracy["verified"]
    assert accuracy["run"] == "aegnn_ncars" and accuracy["seeds"] == 3
    assert accuracy["reproduced_mean"] == pytest.approx(np.mean(seeds))
    assert accuracy["reproduced_std"] == pytest.approx(np.std(seeds, ddof=1))
    assert accuracy["delta"] == pytest.approx(np.mean(seeds) - 0.945)
    half = 4.302652729911275 * np.std(seeds, ddof=1) / np.sqrt(3)  # Student t, 2 degrees of freedom, 97.5 %
    assert (accuracy["ci_low"], accuracy["ci_high"]) == pytest.approx((np.mean(seeds) - half, np.mean(seeds) + half))
    assert accuracy["status"] == "reproduced" and accuracy["criterion"] == "95% t-interval of 3 seeds"
    assert accuracy["within_tolerance"]  # and 0.95 >= 0.945 - 0.01
    assert accuracy["epochs"] == 20 and accuracy["paper_epochs"] == 150
    assert accuracy["train_hours"] == pytest.approx((7200 + 14400 + 21600) / 3600)
    assert accuracy["checkpoint"] == "best validation accuracy, epoch 10/11/12"
    flops = claims.loc[("ncars", "mflops_per_event")]
    assert flops["reproduced_mean"] == pytest.approx(np.mean(list(MFLOPS.values())))
    assert flops["status"] == "reproduced"  # 0.43 <= 0.47 * 1.1
    assert flops["criterion"] == "tolerance: at most 1.1x the published figure" and math.isnan(flops["ci_low"])


STATISTICS = {"confidence": 0.95, "min_seeds": 3}
TOLERANCE = {"accuracy": 0.01, "map": 0.01, "mflops_per_event": 1.1}


def test_the_seeds_spread_decides_and_the_tolerance_stands_beside_it():
    # tight seeds below the paper: outside the interval (and outside the tolerance)
    tight = judge("accuracy", 0.945, [0.90, 0.905, 0.91], TOLERANCE, STATISTICS)
    assert tight.status == "not reproduced" and tight.ci_high < 0.945 and tight.within_tolerance is False
    # the same mean with a wide spread: the paper's value is within reach of the seeds, the fixed band says no
    wide = judge("accuracy", 0.945, [0.85, 0.905, 0.96], TOLERANCE, STATISTICS)
    assert wide.status == "reproduced" and wide.ci_high > 0.945 and wide.within_tolerance is False
    # seeds well above the paper reproduce it too; two seeds are never enough, whatever they say
    assert judge("accuracy", 0.945, [0.99, 0.991, 0.992], TOLERANCE, STATISTICS).status == "reproduced"
    few = judge("accuracy", 0.945, [0.99, 0.99], TOLERANCE, STATISTICS)
    assert few.status == "too few seeds" and few.criterion == "2 of the 3 seeds an interval needs"
    assert few.within_tolerance is True and math.isnan(few.ci_low)
    assert judge("map", None, [0.5] * 3, TOLERANCE, STATISTICS).status == "no published value"
    assert judge("map", 0.5, [], TOLERANCE, STATISTICS).status == "not run"


def test_a_claim_without_a_run_is_not_run_and_empty_never_zero(tables):
    claims = tables["claims_aegnn"].set_index(["dataset", "metric"])
    missing = claims.loc[("ncaltech101", "accuracy")]
    assert missing["status"] == "not run" and missing["seeds"] == 0
    assert math.isnan(missing["reproduced_mean"]) and math.isnan(missing["delta"])
    markdown = tables["paths"]["claims_aegnn"].with_suffix(".md").read_text()
    row = next(line for line in markdown.splitlines() if "ncaltech101" in line and "accuracy" in line)
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[7] == "--" and cells[6] == "0"  # reproduced_mean missing; seeds (a count) genuinely 0


def test_an_unpublished_value_is_shown_as_such_beside_the_run_that_exists(tables):
    ecn = tables["claims_ecn"].set_index(["dataset", "metric"])
    nmnist = ecn.loc[("nmnist", "accuracy")]
    assert math.isnan(nmnist["published"]) and nmnist["status"] == "no published value"
    assert nmnist["reproduced_mean"] == pytest.approx(0.99) and math.isnan(nmnist["reproduced_std"])
    assert nmnist["paper_epochs"] == 500


def test_the_cross_table_puts_both_families_on_a_shared_dataset(tables):
    cross = tables["cross"].set_index("run")
    assert set(cross.index) == set(DATASETS)
    assert cross.loc["aegnn_ncars", "async_ms_per_event"] == pytest.approx(3.0)
    assert cross.loc["aegnn_ncars", "accuracy_mean"] == pytest.approx(0.95)
    assert math.isnan(cross.loc["ecn_ncars", "async_mflops_per_event"])  # ECN publishes none: empty, not zero
    assert cross.loc["ecn_ncars", "accuracy_mean"] == pytest.approx(0.91)
    assert sorted(cross[cross["dataset"] == "ncars"]["family"]) == ["aegnn", "ecn"]


def test_the_summary_counts_every_claim_once(tables):
    summary = tables["summary"].set_index("paper")
    published = yaml.safe_load((REPO / layout.PAPER_RESULTS).read_text())["results"]
    own = {paper: sum(e["paper"] == paper and e["ours"] and e["task"] == "recognition" for e in published)
           for paper in ("aegnn", "ecn")}  # the detection claims are the detection claims table's
    for paper, count in own.items():
        assert summary.loc[paper, list(STATUSES)].sum() == count
    assert summary.loc["aegnn", "reproduced"] == 2
    assert summary.loc["ecn", "no published value"] == 5
    # which criterion each status used, and how often
    assert summary.loc["aegnn", "criteria"] == ("reproduced: 95% t-interval of 3 seeds (1); "
                                                "reproduced: tolerance: at most 1.1x the published figure (1)")


def test_latex_uses_booktabs_rules_and_escapes(tables):
    latex = tables["paths"]["cross"].with_suffix(".tex").read_text()
    assert "\\toprule" in latex and "\\midrule" in latex and "\\bottomrule" in latex
    assert "aegnn\\_ncars" in latex and "async\\_mflops\\_per\\_event" in latex


def test_a_bad_entry_is_named_with_its_index_and_value(tmp_path):
    data = yaml.safe_load((REPO / layout.PAPER_RESULTS).read_text())
    data["results"][3]["metric"] = "acuracy"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"bad\.yaml: results\[3\] \(AEGNN, ncars, acuracy\): metric 'acuracy'"):
        load_paper_results(tmp_path / "bad.yaml")
    data["results"][3]["metric"] = "accuracy"
    data["results"][5]["value"] = "0.9?"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"results\[5\] .*: value '0\.9\?' is not a number"):
        load_paper_results(tmp_path / "bad.yaml")


def test_every_published_entry_names_its_source_and_unverified_unknowns_stay_empty():
    papers, published, _, _ = load_paper_results(REPO / layout.PAPER_RESULTS)
    assert published["source"].str.len().min() > 10
    assert not published["verified"].any()  # nobody has checked them against the PDFs yet
    unknown = published[published["value"].isna()]
    assert len(unknown) >= 5 and unknown["note"].str.len().min() > 10  # each says why it is empty
    table1 = published[(published["method"] == "AEGNN") & (published["task"] == "recognition")]
    assert dict(zip(zip(table1["dataset"], table1["metric"]), table1["value"])) == {
        ("ncaltech101", "accuracy"): 0.668, ("ncaltech101", "mflops_per_event"): 7.31,
        ("ncars", "accuracy"): 0.945, ("ncars", "mflops_per_event"): 0.47}


def test_the_accuracy_vs_mflops_figure_is_a_whole_png_and_pdf(tmp_path):
    from PIL import Image

    from evrepro.report.paper_figures import plot_accuracy_vs_mflops

    metrics, models, asyncs = write_run_records(tmp_path)
    out = tmp_path / "figures/accuracy_vs_mflops.png"
    plot_accuracy_vs_mflops(REPO / layout.PAPER_RESULTS, DATASETS, metrics, models, asyncs, out)
    with Image.open(out) as image:
        assert image.size[0] >= 1200 and 400 <= image.size[1] < image.size[0]  # full page width at 200 dpi
        assert len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)) > 20  # drawn, not blank
    pdf = out.with_suffix(".pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-64:]


def test_flop_conventions_stand_side_by_side_with_the_published_figure(tables):
    conventions = tables["flop_conventions"].set_index("convention")
    assert list(conventions.index) == ["aegnn_paper_protocol", "dagr_last_event", "evrepro"]
    mean = np.mean(list(MFLOPS.values()))
    for name, factor in (("evrepro", 1), ("dagr_last_event", 2), ("aegnn_paper_protocol", 3)):
        row = conventions.loc[name]
        assert row["run"] == "aegnn_ncars" and row["seeds"] == 3
        assert row["async_mflops_per_event"] == pytest.approx(mean * factor)
        assert row["dense_over_async"] == pytest.approx(100.0 / mean)
        assert row["published_aegnn_mflops_per_event"] == 0.47 and row["description"] == f"{name} in words"


def test_the_papers_per_layer_figure_is_recorded_unverified_with_known_layer_names():
    figure = yaml.safe_load((REPO / layout.PAPER_RESULTS).read_text())["figures"]["aegnn_layer_ratios"]
    assert figure["verified"] is False and "README" in figure["source"]
    layers = {"conv1", "conv2", "conv3", "conv4", "conv5", "pool5", "conv6", "conv7", "pool7", "head"}
    assert set(figure["log10_dense_over_async"]) <= layers and figure["log10_dense_over_async"]["conv1"] == 3.95


def test_detection_claims_meet_runs_under_their_own_definition_only():
    from evrepro.report.detection import detection_claims_table

    _, published, tolerance, statistics = load_paper_results(REPO / layout.PAPER_RESULTS)
    scores = {"coco_ap": 0.12, "coco_ap50": 0.30, "gen1_ap": 0.11, "gen1_ap50": 0.31, "per_sample_map": 0.50}
    table = pd.DataFrame([{"run": "det", "seed": seed, "dataset": "gen1", "metric": metric, "value": value + seed / 100}
                          for seed in (0, 1, 2) for metric, value in scores.items()])
    no_flops = pd.DataFrame(columns=["run", "seed", "dataset", "convention", "async_mflops_per_event"])
    claims = detection_claims_table(published, tolerance, statistics, table, no_flops)
    gen1 = claims[(claims["dataset"] == "gen1") & (claims["metric"] == "map")].iloc[0]
    assert gen1["definition"] == "unknown" and gen1["status"] == "definition unknown" and gen1["seeds"] == 3
    assert gen1["coco_ap"] == pytest.approx(0.13) and gen1["per_sample_map"] == pytest.approx(0.51)
    assert math.isnan(gen1["reproduced_mean"])  # no number stands for a definition nobody stated
    assert set(claims[claims["dataset"] == "ncaltech101"]["status"]) <= {"not run", "no published value"}
    assert claims[(claims["dataset"] == "gen1") & (claims["metric"] == "mflops_per_event")]["status"].tolist() == [
        "not run"]
    # a cell whose definition is known gets a verdict under that definition alone
    known = published.copy()
    known.loc[(known["dataset"] == "gen1") & (known["metric"] == "map"), "definition"] = "gen1_ap"
    row = detection_claims_table(known, tolerance, statistics, table, no_flops).query(
        "dataset == 'gen1' and metric == 'map'").iloc[0]
    # 0.11, 0.12, 0.13: the 95 % interval 0.12 ± 0.025 stays below 0.145
    assert row["reproduced_mean"] == pytest.approx(0.12) and row["status"] == "not reproduced"
    assert row["ci_high"] == pytest.approx(0.12 + 4.302652729911275 * 0.01 / np.sqrt(3))
    known.loc[(known["dataset"] == "gen1") & (known["metric"] == "map"), "definition"] = "gen1_ap50"
    row = detection_claims_table(known, tolerance, statistics, table, no_flops).query(
        "dataset == 'gen1' and metric == 'map'").iloc[0]
    assert row["status"] == "reproduced" and row["criterion"] == "95% t-interval of 3 seeds"
    two_seeds = table[table["seed"] != 1]
    row = detection_claims_table(known, tolerance, statistics, two_seeds, no_flops).query(
        "dataset == 'gen1' and metric == 'map'").iloc[0]
    assert row["status"] == "too few seeds" and row["within_tolerance"]


def test_detection_mflops_claims_meet_the_runs_asynchronous_flops_under_evrepro_s_convention(tmp_path):
    from evrepro.report.detection import detection_claims_table, detection_flops

    _, published, tolerance, statistics = load_paper_results(REPO / layout.PAPER_RESULTS)
    paths = []
    for seed, mflops in ((0, 5.0), (1, 6.0)):  # mean 5.5: within 1.1 × 5.26 = 5.786
        path = tmp_path / "results" / "runs" / "det" / f"seed-{seed}" / "async.json"
        path.parent.mkdir(parents=True)
        write_record(path, async_result(mflops, 1.0))
        paths.append(path)
    flops = detection_flops(paths, {"det": "gen1"})
    assert sorted(set(flops["convention"])) == ["aegnn_paper_protocol", "dagr_last_event", "evrepro"]
    empty = pd.DataFrame(columns=["run", "seed", "dataset", "metric", "value"])
    claims = detection_claims_table(published, tolerance, statistics, empty, flops)
    row = claims.query("dataset == 'gen1' and metric == 'mflops_per_event'").iloc[0]
    assert row["run"] == "det" and row["seeds"] == 2 and row["convention"] == "evrepro"
    assert row["reproduced_mean"] == pytest.approx(5.5) and row["status"] == "reproduced"
    assert row["mflops_evrepro"] == pytest.approx(5.5) and row["mflops_dagr_last_event"] == pytest.approx(
        flops.query("convention == 'dagr_last_event'")["async_mflops_per_event"].mean())
    flops.loc[flops["convention"] == "evrepro", "async_mflops_per_event"] += 1.0  # mean 6.5 > 5.786
    claims = detection_claims_table(published, tolerance, statistics, empty, flops)
    assert claims.query("dataset == 'gen1' and metric == 'mflops_per_event'")["status"].tolist() == ["not reproduced"]


def test_a_detection_cell_without_its_definition_is_refused(tmp_path):
    text = (REPO / layout.PAPER_RESULTS).read_text().replace("    definition: paper\n", "", 1)
    (tmp_path / "results.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"AEGNN, gen1, mflops_per_event\): a detection cell names its definition"):
        load_paper_results(tmp_path / "results.yaml")


def test_the_ablation_puts_a_family_as_published_beside_it_as_fixed(tables):
    assert tables["ablation"].empty  # no run sets a compat list
    rows = [("fixed", 0, "", 0.90, 0.4), ("fixed", 1, "", 0.92, 0.4), ("published", 0, "pooled_edge_scale, data_origin",
            0.85, np.nan), ("published", 1, "pooled_edge_scale, data_origin", 0.86, np.nan),
            ("elsewhere", 0, "", 0.70, 0.3)]
    per_seed = pd.DataFrame([{"run": run, "seed": seed, "family": "aegnn", "compat": compat, "accuracy": accuracy,
                              "async_mflops_per_event": mflops, "dataset": "digits" if run != "elsewhere" else "ncars"}
                             for run, seed, compat, accuracy, mflops in rows])
    ablation = ablation_table(per_seed).set_index("run")
    assert list(ablation.index) == ["fixed", "published"]  # only datasets where some run sets compat
    assert ablation.loc["fixed", "original_behaviours"] == "none (evrepro's fixes)"
    assert ablation.loc["published", "original_behaviours"] == "pooled_edge_scale, data_origin"
    assert ablation.loc["published", "accuracy_mean"] == pytest.approx(0.855)
    assert ablation.loc["published", "delta_vs_fixed"] == pytest.approx(0.855 - 0.91)
    assert ablation.loc["fixed", "async_mflops_per_event"] == pytest.approx(0.4)
    assert math.isnan(ablation.loc["published", "async_mflops_per_event"])
    assert set(ablation["family"]) == {"aegnn"}


def test_a_run_s_original_behaviours_come_from_its_record_and_older_records_still_load(tmp_path):
    from evrepro.report.claims import measured

    def record(run: str, **blocks) -> tuple:
        folder = tmp_path / "results" / "runs" / run / "seed-0"
        folder.mkdir(parents=True)
        write_record(folder / "metrics.json", MetricsRecord(
            family="aegnn", seed=0, test_accuracy=0.8, test_top3_accuracy=1.0, test_loss=0.1, test_samples=10,
            best_epoch=1, best_val_accuracy=0.8, parameters=10, device="cpu"))
        write_record(folder / "model.json", ModelRecord(
            family="aegnn", architecture="", config=blocks.get("network", {}), training=blocks.get("training", {}),
            seed=0, device="cpu", threads=1, parameters=10, non_trainable_parameters=0,
            compute=Compute(1.0, 0.0, 0.0, 1), preprocessing=blocks.get("preprocessing", {})))
        return folder / "metrics.json", folder / "model.json"

    published = record("published", preprocessing={"compat": ["time_in_seconds"]},
                       network={"compat": ["data_origin"]}, training={"compat": ["validate_on_test"]})
    older = record("older")
    model = json.loads(older[1].read_text())
    del model["preprocessing"]  # as written before model.json recorded its cache's parameters
    older[1].write_text(json.dumps(model))
    table = measured({"published": "digits", "older": "digits"}, [published[0], older[0]],
                     [published[1], older[1]], []).set_index("run")
    assert table.loc["published", "compat"] == "time_in_seconds, data_origin, validate_on_test"
    assert table.loc["older", "compat"] == ""


def test_a_run_with_the_original_s_behaviours_is_not_judged_as_a_claim():
    from evrepro.report.claims import claims_table

    papers, published, tolerance, statistics = load_paper_results(REPO / layout.PAPER_RESULTS)
    per_seed = pd.DataFrame([{"run": run, "seed": seed, "family": "aegnn", "dataset": "ncars", "accuracy": 0.9,
                              "async_mflops_per_event": 1.0, "epochs": 150, "train_hours": 1.0, "best_epoch": 100,
                              "compat": compat}
                             for run, compat in (("fixed", ""), ("test_chosen", "validate_on_test"))
                             for seed in (0, 1)])
    claims = claims_table("aegnn", papers, published, per_seed, tolerance, statistics)
    assert set(claims.query("dataset == 'ncars'")["run"]) == {"fixed"}
