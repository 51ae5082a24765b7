"""``python -m evrepro STAGE ...``: every workflow stage, outside Snakemake too.

An expected error (bad input, a wrong download, a config mistake) is printed as one line and the
command exits with status 1; ``--debug`` shows its traceback instead.
"""

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from evrepro import layout
from evrepro.errors import ConfigError, EvreproError
from evrepro.logs import logged


def _require(path, command: str) -> str:
    """``path`` if it exists; otherwise an error saying which command makes it."""
    if not Path(path).exists():
        raise EvreproError(f"{path} not found: make it first with `python -m evrepro {command}`")
    return str(path)


def _dataset_config(args) -> dict:
    from evrepro.config import load_config

    config = load_config(args.config)
    if args.dataset not in config["datasets"]:
        raise ConfigError(f"{args.config}: dataset {args.dataset!r} is not configured under datasets "
                          f"(configured: {', '.join(config['datasets'])})")
    return config["datasets"][args.dataset]


def _manifest(args) -> Path:
    """The manifest of a dataset's archives: in ``--archives`` or where the workflow keeps it."""
    folder = args.archives or layout.fill(layout.ARCHIVES, dataset=args.dataset)
    return Path(folder) / Path(layout.MANIFEST).name


def cmd_fetch(args) -> None:
    from evrepro.datasets.stages import fetch

    fetch(args.dataset, _dataset_config(args), _manifest(args))


def cmd_extract(args) -> None:
    from evrepro.datasets.stages import extract

    raw = args.out or layout.fill(layout.RAW, dataset=args.dataset)
    extract(_require(_manifest(args), f"fetch {args.dataset}"), raw)


def cmd_events(args) -> None:
    from evrepro.datasets.stages import build_events

    build_events(args.dataset, _dataset_config(args), _require(_manifest(args), f"fetch {args.dataset}"),
                 _require(args.raw or layout.fill(layout.RAW, dataset=args.dataset), f"extract {args.dataset}"),
                 args.out or layout.fill(layout.EVENTS, dataset=args.dataset),
                 args.splits or layout.fill(layout.SPLITS, dataset=args.dataset), workers=args.workers)


def cmd_datasets(args) -> None:
    import pandas as pd

    from evrepro.datasets.catalog import describe, registry_rows
    from evrepro.datasets.registry import get_dataset

    if args.name:
        print(describe(get_dataset(args.name)))
        return
    print(pd.DataFrame(registry_rows()).to_string(index=False))
    print("\n`python -m evrepro datasets NAME` shows one in full: classes, archives, mirrors, checksums, notes.")


def _run(args) -> tuple[dict, dict]:
    """The config (defaults filled) and one of its runs."""
    from evrepro.config import load_config

    config = load_config(args.config)
    if args.run not in config["runs"]:
        raise ConfigError(f"{args.config}: no run {args.run!r} under runs (runs: {', '.join(config['runs'])})")
    return config, config["runs"][args.run]


def cmd_cache(args) -> None:
    from evrepro.caches import cache_params, cache_path
    from evrepro.families import cache_builder, family

    _, run = _run(args)
    events = _require(layout.fill(layout.EVENTS, dataset=run["dataset"]), f"events {run['dataset']}")
    threads = {"threads": args.threads} if family(run["family"]).cache_threads else {}
    cache_builder(run["family"])(events, cache_path(run), cache_params(run), **threads)


def _best(run: dict, run_name: str, seed: int) -> str:
    """A run × seed's best checkpoint."""
    from evrepro.families import family

    return layout.fill(layout.best_checkpoint(family(run["family"]).checkpoint_suffix), run=run_name, seed=seed)


def _trained(args, run: dict) -> tuple[str, str, str]:
    """(cache, best checkpoint, model.json) of a trained run × seed; an error says what to run first."""
    from evrepro.caches import cache_path

    cache = _require(cache_path(run), f"cache {args.run}")
    model = _require(layout.fill(layout.MODEL, run=args.run, seed=args.seed), f"train {args.run} --seed {args.seed}")
    return cache, _best(run, args.run, args.seed), model


def cmd_train(args) -> None:
    from evrepro.caches import cache_path
    from evrepro.families import trainer
    from evrepro.training.stages import TrainOutputs, train_stage

    _, run = _run(args)
    cache = _require(cache_path(run), f"cache {args.run}")
    wildcards = {"run": args.run, "seed": args.seed}
    outputs = TrainOutputs.of(_best(run, args.run, args.seed), *(layout.fill(template, **wildcards) for template in
                                                                   (layout.HISTORY, layout.MODEL, layout.RUN_CONFIG)))
    train_stage(trainer(run["family"]), cache, outputs, args.run, run, args.seed, threads=args.threads)


def cmd_evaluate(args) -> None:
    from evrepro.families import family as family_named
    from evrepro.families import trainer
    from evrepro.training.execution import Execution
    from evrepro.training.stages import evaluate_stage

    _, run = _run(args)
    cache, best, model = _trained(args, run)
    wildcards = {"run": args.run, "seed": args.seed}
    family = trainer(run["family"])
    details = layout.CONFUSION if family_named(run["family"]).evaluation == "confusion" else layout.DETECTIONS
    metrics = evaluate_stage(family, cache, best, model, layout.fill(layout.METRICS, **wildcards),
                             layout.fill(details, **wildcards), threads=args.threads,
                             device=Execution.of(run.get("execution"), family.name).device)
    print(json.dumps(asdict(metrics), indent=2))


def cmd_async(args) -> None:
    from evrepro.families import FAMILIES, family

    config, run = _run(args)
    if not family(run["family"]).asynchronous:
        asynchronous = ", ".join(known.name for known in FAMILIES.values() if known.asynchronous)
        raise ConfigError(f"run {args.run!r} is an {run['family']} run: asynchronous inference is for the families "
                          f"{asynchronous}")
    from evrepro.aegnn.async_eval import evaluate_async

    cache, best, model = _trained(args, run)
    wildcards = {"run": args.run, "seed": args.seed}
    result = evaluate_async(cache, best, model, layout.fill(layout.ASYNC, **wildcards),
                            layout.fill(layout.SCORE_VS_EVENTS, **wildcards), **config["async_eval"],
                            threads=args.threads)
    print(json.dumps({"mflops_per_event": asdict(result.flops), "speedup": asdict(result.speedup),
                      "max_abs_difference": asdict(result.max_abs_difference)}, indent=2))


def cmd_inspect(args) -> None:
    import numpy as np

    from evrepro.events import read
    from evrepro.events.array import first_decrease

    events = read(args.file)
    summary = {"file": args.file, "events": int(events.size)}
    if events.size:
        for field in ("x", "y", "t"):
            summary[field] = [int(events[field].min()), int(events[field].max())]
        summary["on"], summary["off"] = int(np.sum(events["p"] == 1)), int(np.sum(events["p"] == 0))
    decrease = first_decrease(events["t"])
    summary["time_decreases"] = decrease[1] if decrease else 0
    if decrease:
        index = decrease[0]
        summary["first_time_decrease"] = {"event": index, "t": int(events["t"][index]),
                                          "previous_t": int(events["t"][index - 1])}
    print(json.dumps(summary))


def cmd_table(args) -> None:
    from evrepro.report.tables import write_datasets_table

    print(write_datasets_table({Path(p).stem: p for p in args.stores}, args.out).to_string(index=False))


def cmd_figure(args) -> None:
    from evrepro.report.figures import plot_samples

    plot_samples(args.store, args.out, args.samples_per_class, args.max_classes, args.split)


def cmd_check(args) -> None:
    from evrepro.check import check

    damaged = check(args.root, repair=args.repair)
    if damaged and not args.repair:
        raise SystemExit(1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evrepro", description=__doc__)
    parser.add_argument("--log", help="also write logs and progress to this file")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an expected error")
    debug = argparse.ArgumentParser(add_help=False)  # --debug after the command too
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)

    def add_command(name, help_text):
        return commands.add_parser(name, help=help_text, parents=[debug])

    def dataset_command(name, function, help_text, *paths):
        sub = add_command(name, help_text)
        sub.add_argument("dataset")
        sub.add_argument("--config", default="config/config.yaml")
        for path in paths:
            sub.add_argument(f"--{path}")
        sub.set_defaults(func=function)
        return sub

    dataset_command("fetch", cmd_fetch, "download or generate a dataset's archives", "archives")
    dataset_command("extract", cmd_extract, "unpack a dataset's archives", "archives", "out")
    events = dataset_command("events", cmd_events, "build the events store and its split manifest",
                             "archives", "raw", "out", "splits")
    events.add_argument("--workers", type=int, default=1, help="processes reading recordings")
    datasets = add_command("datasets", "every dataset the pipeline knows, and how to obtain each")
    datasets.add_argument("name", nargs="?", help="show this dataset in full")
    datasets.set_defaults(func=cmd_datasets)

    def run_command(name, function, help_text, seed=True):
        sub = add_command(name, help_text)
        sub.add_argument("run", help="a run name under runs: in the config")
        sub.add_argument("--config", default="config/config.yaml")
        if seed:
            sub.add_argument("--seed", type=int, default=0)
            sub.add_argument("--threads", type=int, help="CPU threads of torch or TensorFlow (default: theirs)")
        sub.set_defaults(func=function)
        return sub

    cache = run_command("cache", cmd_cache, "build the graph (AEGNN) or stream (ECN) cache a run trains on", seed=False)
    cache.add_argument("--threads", type=int, default=1, help="threads of AEGNN's radius-graph search (default 1)")
    run_command("train", cmd_train, "train (or resume) one run × seed")
    run_command("evaluate", cmd_evaluate, "test metrics of a run × seed's best checkpoint")
    run_command("async", cmd_async, "AEGNN event by event against the dense model: async.json")
    inspect = add_command("inspect", "summarise one event file (any supported format)")
    inspect.add_argument("file")
    inspect.set_defaults(func=cmd_inspect)
    table = add_command("table", "datasets table from events stores")
    table.add_argument("stores", nargs="+")
    table.add_argument("--out", default=layout.fill(layout.TABLE, name="datasets"))
    table.set_defaults(func=cmd_table)
    figure = add_command("figure", "samples figure from an events store")
    figure.add_argument("store")
    figure.add_argument("--out", required=True)
    figure.add_argument("--samples-per-class", type=int, default=3)
    figure.add_argument("--max-classes", type=int, default=10)
    figure.add_argument("--split", default="test")
    figure.set_defaults(func=cmd_figure)
    checking = add_command("check", "verify every file under results/ and the archives; --repair sets the damaged "
                                    "ones aside for the workflow to build again")
    checking.add_argument("--root", default=".", help="the project folder (results/, resources/)")
    checking.add_argument("--repair", action="store_true", help="set the damaged files aside (never deletes)")
    checking.set_defaults(func=cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with logged(args.log, label=f"evrepro {args.command}: error", debug=args.debug):
        args.func(args)
    return 0
