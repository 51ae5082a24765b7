"""results/README.md: every file under results/ listed with what it is."""

from evrepro.report.index import describe, write_results_index


def test_every_kind_of_result_file_is_described():
    assert describe("results/events/ncars.h5").startswith("events store of ncars")
    assert describe("results/events/ncars.splits.json").startswith("split manifest of ncars")
    assert describe("results/streams/digits/0123456789.h5") == "ECN stream cache of digits, preprocessing 0123456789"
    assert describe("results/runs/a/seed-1/metrics.json").startswith("run a seed 1: test metrics")
    assert describe("results/runs/a/seed-1/checkpoints/best.pt") == "run a seed 1: checkpoint best.pt"
    assert describe("results/tables/claims_aegnn.tex").startswith("table (LaTeX): a paper's claims")
    assert describe("results/tables/datasets.md").startswith("table (Markdown): samples, events")
    assert describe("results/figures/accuracy_vs_mflops.pdf").startswith("figure (PDF): accuracy against MFLOP")
    assert describe("results/figures/digits_samples.png") == "figure: samples of digits per class"
    assert describe("results/figures/streams/digits-0123456789_levels.pdf").endswith("digits-0123456789, levels")
    assert describe("results/bench/data.json") == ""


def test_the_index_lists_each_file_once_and_not_itself(tmp_path):
    for name in ("results/events/digits.h5", "results/tables/runs.csv", "results/runs/r/seed-0/history.csv",
                 "results/.hidden.tmp-1"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    out = tmp_path / "results/README.md"
    out.write_text("old index")
    assert write_results_index(tmp_path, out) == 3
    rows = [line for line in out.read_text().splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == ["results/events/digits.h5", "results/runs/r/seed-0/history.csv",
                                                    "results/tables/runs.csv"]
    assert "one row per epoch" in rows[1]
