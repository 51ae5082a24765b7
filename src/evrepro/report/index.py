"""``results/README.md``: an index of every file under ``results/``, what it is and which rule's template made it."""

from pathlib import Path

from evrepro import layout
from evrepro.storage.fileio import atomic_output

TABLES = {
    "summary": "per paper: claims reproduced, not reproduced, too few seeds, not run, unpublished; the criteria",
    "claims": "a paper's claims beside the runs: mean ± std over seeds, delta, budget, checkpoint, status",
    "ablation": "each family as published (its runs' compat lists) beside as fixed: accuracy and its difference",
    "cross": "both families on every dataset they ran on: accuracy, parameters, MFLOP/ev, latency, training time",
    "datasets": "samples, events and duration per dataset and split; orientation; split manifest hash",
    "runs": "test accuracy, top-3, parameters, training time of every run × seed (and a mean per run)",
    "async": "AEGNN event by event: FLOPs and latency per event, dense and asynchronous",
    "compute": "wall time, CPU time and peak memory of every job, and per run",
    "detection": "detection runs under each named metric (COCO, Gen1 time-matched, AEGNN's per-sample) and baseline",
    "detection_claims": "AEGNN's published detection numbers beside the detection runs, per metric definition",
}
FIGURES = {
    "accuracy_vs_mflops": "accuracy against MFLOP per event, the published methods beside the runs",
    "training_curves": "loss and accuracy per epoch, train and validation, every run × seed",
    "async_flops_per_layer": "log10(dense / asynchronous) FLOPs per layer",
    "score_vs_events": "test accuracy (a detector's COCO AP50) after the first n events",
}
TEMPLATES = [  # (template, what); the first that matches a path describes it
    (layout.EVENTS, "events store of {dataset}: every sample per split (Gen1: recordings with boxes)"),
    (layout.SPLITS, "split manifest of {dataset}: the sample ids of every split"),
    (layout.GRAPHS, "AEGNN graph cache of {dataset}, preprocessing {prep}"),
    (layout.STREAMS, "ECN stream cache of {dataset}, preprocessing {prep}"),
    (layout.DETECTION_GRAPHS, "AEGNN detection graph cache of {dataset}, preprocessing {prep}: windows with boxes"),
    (layout.RUN_CONFIG, "run {run} seed {seed}: the resolved configuration"),
    (layout.HISTORY, "run {run} seed {seed}: one row per epoch"),
    (layout.MODEL, "run {run} seed {seed}: architecture, training, device, parameters, compute"),
    (layout.METRICS, "run {run} seed {seed}: test metrics of the best-validation checkpoint"),
    (layout.CONFUSION, "run {run} seed {seed}: test confusion matrix"),
    (layout.DETECTIONS, "run {run} seed {seed}: true boxes and detections of every test window"),
    (layout.ASYNC, "run {run} seed {seed}: AEGNN event by event, FLOPs and latency per event"),
    (layout.SCORE_VS_EVENTS, "run {run} seed {seed}: test score after n events"),
    (layout.CHECKPOINTS + "/{file}", "run {run} seed {seed}: checkpoint {file}"),
    (layout.RUN + "/superseded/{aside}/{file}", "run {run} seed {seed}: a training an edit replaced ({aside})"),
    (layout.SAMPLES_FIGURE, "figure: samples of {dataset} per class"),
    (layout.pdf(layout.SAMPLES_FIGURE), "figure (PDF): samples of {dataset} per class"),
    (layout.STREAM_FIGURE, "figure: ECN stream cache {dataset}-{prep}, {figure}"),
    (layout.pdf(layout.STREAM_FIGURE), "figure (PDF): ECN stream cache {dataset}-{prep}, {figure}"),
    (layout.GRAPH_FIGURE, "figure: AEGNN graph cache {dataset}-{prep}, a radius graph over its events"),
    (layout.pdf(layout.GRAPH_FIGURE),
     "figure (PDF): AEGNN graph cache {dataset}-{prep}, a radius graph over its events"),
    (layout.DETECTION_FIGURE, "figure: detection run {run} seed {seed}, test windows with true and found boxes"),
    (layout.pdf(layout.DETECTION_FIGURE),
     "figure (PDF): detection run {run} seed {seed}, test windows with true and found boxes"),
    (layout.REPORT, "the HTML report (snakemake --report)"),
]

NAMED = [  # tables and figures by name, in every format they are written as
    (layout.TABLE, "table", TABLES),
    (layout.table_siblings(layout.TABLE)["markdown"], "table (Markdown)", TABLES),
    (layout.table_siblings(layout.TABLE)["latex"], "table (LaTeX)", TABLES),
    (layout.FIGURE, "figure", FIGURES),
    (layout.pdf(layout.FIGURE), "figure (PDF)", FIGURES),
]


def describe(relative: str) -> str:
    """What the file at ``relative`` (a path under the project root) is, or "" when no template made it."""
    for template, what in TEMPLATES:
        try:
            return what.format(**layout.parse(template, relative))
        except ValueError:
            continue
    for template, kind, notes in NAMED:
        try:
            name = layout.parse(template, relative)["name"]
        except ValueError:
            continue
        return f"{kind}: {notes.get(name, notes.get(name.split('_')[0], name))}"
    return ""


def write_results_index(root: str | Path, out_md: str | Path) -> int:
    """Write the index of every file under ``root/results`` to ``out_md``; returns how many files it lists."""
    root = Path(root)
    files = sorted(p.relative_to(root).as_posix() for p in (root / "results").rglob("*")
                   if p.is_file() and p.resolve() != Path(out_md).resolve() and not p.name.startswith("."))
    lines = ["# What is in `results/`", "",
             "Written by the workflow's `results_index` rule; the layout is defined in `evrepro.layout`, the tables "
             "and figures are explained in the HTML report (`results/report.html`) and the repository's README.", "",
             "| file | what |", "|---|---|"]
    lines += [f"| `{path}` | {describe(path)} |" for path in files]
    with atomic_output(out_md) as temporary:
        temporary.write_text("\n".join(lines) + "\n")
    return len(files)
