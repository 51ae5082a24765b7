"""Where every artefact lives: the one place for the file layout of a project.

Templates use Snakemake's wildcard syntax (``{dataset}``), so the rules use them as they are and the
code fills them with ``str.format``. Paths are relative to the project root (where the Snakefile is).
"""

import re
from pathlib import Path

# data
ARCHIVES = "resources/archives/{dataset}"
MANIFEST = ARCHIVES + "/manifest.json"
RAW = "resources/raw/{dataset}"
EVENTS = "results/events/{dataset}.h5"
SPLITS = "results/events/{dataset}.splits.json"  # the sample ids of every split (datasets.splits)

# model caches, keyed by a hash of their preprocessing parameters
CACHE = "results/{kind}/{dataset}/{prep}.h5"  # kind: graphs (AEGNN), streams (ECN), detection_graphs
GRAPHS = CACHE.replace("{kind}", "graphs")
STREAMS = CACHE.replace("{kind}", "streams")
DETECTION_GRAPHS = CACHE.replace("{kind}", "detection_graphs")  # AEGNN's detection model

# one run × seed
RUN = "results/runs/{run}/seed-{seed}"
RUN_CONFIG = RUN + "/config.yaml"
CHECKPOINTS = RUN + "/checkpoints"  # best{suffix} (evaluated), last{suffix} (the whole state), TRAINING_RECORD
TRAINING_RECORD = "training.json"  # beside the checkpoints: what they were trained with (evrepro.training.folder)
SUPERSEDED = "superseded"  # in a run × seed folder: trainings an edit replaced, each with SUPERSEDED_NOTE
SUPERSEDED_NOTE = "superseded.json"
HISTORY = RUN + "/history.csv"
MODEL = RUN + "/model.json"
METRICS = RUN + "/metrics.json"
CONFUSION = RUN + "/confusion.csv"
DETECTIONS = RUN + "/detections.npz"  # a detection run's test windows: true boxes and detections
ASYNC = RUN + "/async.json"
SCORE_VS_EVENTS = RUN + "/score_vs_events.csv"

# report
TABLE = "results/tables/{name}.csv"
PAPER_RESULTS = "config/paper_results.yaml"  # the published numbers the paper tables compare with
FIGURE = "results/figures/{name}.png"
SAMPLES_FIGURE = "results/figures/{dataset}_samples.png"
STREAM_FIGURE = "results/figures/streams/{dataset}-{prep}_{figure}.png"  # figure: levels, neighbourhood
GRAPH_FIGURE = "results/figures/graphs/{dataset}-{prep}_graph.png"
DETECTION_FIGURE = "results/figures/detection/{run}_seed-{seed}_boxes.png"  # test windows with their boxes
REPORT = "results/report.html"
RESULTS_INDEX = "results/README.md"  # what is where (rule results_index)

# per job: its log, and Snakemake's benchmark record of the heavy ones
LOG = "logs/{rule}/{job}.log"
BENCHMARK = "benchmarks/{rule}/{job}.tsv"
RUN_JOB = "{run}_seed-{seed}"  # the {job} part of a run × seed's log and benchmark
CACHE_JOB = "{dataset}_{prep}"  # of a cache's
DATASET_JOB = "{dataset}"  # of a dataset's data stages


def best_checkpoint(suffix: str) -> str:
    """The template of a run × seed's best checkpoint, for a family whose checkpoints end in ``suffix``."""
    return f"{CHECKPOINTS}/best{suffix}"


def last_checkpoint(best) -> Path:
    """The whole training state beside a best checkpoint (never a declared output: Snakemake never deletes it)."""
    best = Path(best)
    return best.with_name("last" + best.suffix)


def run_folder(best) -> Path:
    """The run × seed folder of a best checkpoint."""
    best = Path(best)
    if best.parent.name != Path(CHECKPOINTS).name:
        raise ValueError(f"{best} is not inside a run's {Path(CHECKPOINTS).name}/ folder")
    return best.parent.parent


def fill(template: str, **wildcards) -> str:
    """``template`` with its wildcards filled in."""
    return template.format(**wildcards)


def table_siblings(csv: str) -> dict[str, str]:
    """The Markdown and LaTeX files every table is also written as, beside its CSV."""
    return {"markdown": csv.removesuffix(".csv") + ".md", "latex": csv.removesuffix(".csv") + ".tex"}


def table_formats(name: str) -> dict[str, str]:
    """The Markdown and LaTeX files of the table ``name`` (``table_siblings`` of its CSV)."""
    return table_siblings(fill(TABLE, name=name))


def pdf(png_template: str) -> str:
    """The PDF every figure is also written as, beside its PNG."""
    return png_template.removesuffix(".png") + ".pdf"


def job_file(template: str, rule: str, job: str) -> str:
    """A job's log or benchmark path: ``LOG`` or ``BENCHMARK`` for ``rule``, ``job`` keeping its own wildcards."""
    return template.replace("{rule}", rule).replace("{job}", job)


def _pattern(template: str) -> re.Pattern:
    """A regular expression matching the paths ``template`` makes, one named group per wildcard."""
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(part) if k % 2 == 0 else f"(?P<{part}>[^/]+?)" for k, part in enumerate(parts))
    return re.compile(regex + "$")


def parse(template: str, path) -> dict[str, str]:
    """The wildcards of a path made by ``template`` (the path may carry a leading folder)."""
    match = _pattern(template).search(Path(path).as_posix())
    if match is None:
        raise ValueError(f"{path} is not a path of the form {template}")
    return match.groupdict()


def run_and_seed(path) -> tuple[str, int]:
    """(run, seed) of any file in a run × seed's folder: results/runs/{run}/seed-{seed}/..."""
    found = re.search(r"results/runs/([^/]+)/seed-(\d+)(/|$)", Path(path).as_posix())
    if found is None:
        raise ValueError(f"{path} is not inside {RUN}")
    return found.group(1), int(found.group(2))
