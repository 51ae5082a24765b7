"""``python -m evrepro STAGE ...``: every workflow stage, outside Snakemake too.

An expected error (bad input, a wrong download, a config mistake) is printed as one line and the
command exits with status 1; ``--debug`` shows its traceback instead.
"""

import argparse
import json
from pathlib import Path

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


def cmd_fetch(args) -> None:
    from evrepro.datasets.stages import fetch

    fetch(args.dataset, _dataset_config(args), args.out or f"resources/archives/{args.dataset}")


def cmd_extract(args) -> None:
    from evrepro.datasets.stages import MANIFEST, extract

    manifest = Path(args.archives or f"resources/archives/{args.dataset}") / MANIFEST
    extract(_require(manifest, f"fetch {args.dataset}"), args.out or f"resources/raw/{args.dataset}")


def cmd_events(args) -> None:
    from evrepro.datasets.stages import MANIFEST, build_events

    build_events(args.dataset, _dataset_config(args),
                 _require(Path(args.archives or f"resources/archives/{args.dataset}") / MANIFEST,
                          f"fetch {args.dataset}"),
                 _require(args.raw or f"resources/raw/{args.dataset}", f"extract {args.dataset}"),
                 args.out or f"results/events/{args.dataset}.h5")


def _run(args) -> tuple[dict, dict]:
    """The config (defaults filled) and one of its runs."""
    from evrepro.config import load_config

    config = load_config(args.config)
    if args.run not in config["runs"]:
        raise ConfigError(f"{args.config}: no run {args.run!r} under runs (runs: {', '.join(config['runs'])})")
    return config, config["runs"][args.run]


def cmd_cache(args) -> None:
    from evrepro.runs import cache_params, cache_path

    _, run = _run(args)
    events = _require(f"results/events/{run['dataset']}.h5", f"events {run['dataset']}")
    if run["model"] == "aegnn":
        from evrepro.graphs.store import build_graph_store as build
    else:
        from evrepro.streams.store import build_stream_store as build
    build(events, cache_path(run), cache_params(run))


def _stages(run: dict):
    """The model family's stage module (importing only that family's framework)."""
    if run["model"] == "aegnn":
        from evrepro.aegnn import stages
    else:
        from evrepro.ecn import stages
    return stages


def cmd_train(args) -> None:
    from evrepro.runs import cache_path

    _, run = _run(args)
    cache = _require(cache_path(run), f"cache {args.run}")
    _stages(run).train_stage(cache, f"results/runs/{args.run}/seed-{args.seed}", args.run, run, args.seed,
                             threads=args.threads)


def cmd_evaluate(args) -> None:
    from evrepro.runs import cache_path

    _, run = _run(args)
    run_dir = f"results/runs/{args.run}/seed-{args.seed}"
    _require(f"{run_dir}/model.json", f"train {args.run} --seed {args.seed}")
    cache = _require(cache_path(run), f"cache {args.run}")
    print(json.dumps(_stages(run).evaluate_stage(cache, run_dir, threads=args.threads), indent=2))


def cmd_async(args) -> None:
    from evrepro.runs import cache_path

    config, run = _run(args)
    if run["model"] != "aegnn":
        raise ConfigError(f"run {args.run!r} is an {run['model']} run: asynchronous inference is AEGNN's")
    from evrepro.aegnn.async_eval import evaluate_async

    run_dir = f"results/runs/{args.run}/seed-{args.seed}"
    _require(f"{run_dir}/model.json", f"train {args.run} --seed {args.seed}")
    result = evaluate_async(_require(cache_path(run), f"cache {args.run}"), run_dir, **config["async_eval"],
                            threads=args.threads)
    print(json.dumps({key: result[key] for key in ("mflops_per_event", "speedup", "max_abs_difference")}, indent=2))


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

    dataset_command("fetch", cmd_fetch, "download or generate a dataset's archives", "out")
    dataset_command("extract", cmd_extract, "unpack a dataset's archives", "archives", "out")
    dataset_command("events", cmd_events, "build the events store", "archives", "raw", "out")

    def run_command(name, function, help_text, seed=True):
        sub = add_command(name, help_text)
        sub.add_argument("run", help="a run name under runs: in the config")
        sub.add_argument("--config", default="config/config.yaml")
        if seed:
            sub.add_argument("--seed", type=int, default=0)
            sub.add_argument("--threads", type=int, help="CPU threads of torch or TensorFlow (default: theirs)")
        sub.set_defaults(func=function)

    run_command("cache", cmd_cache, "build the graph (AEGNN) or stream (ECN) cache a run trains on", seed=False)
    run_command("train", cmd_train, "train (or resume) one run × seed")
    run_command("evaluate", cmd_evaluate, "test metrics of a run × seed's best checkpoint")
    run_command("async", cmd_async, "AEGNN event by event against the dense model: async.json")
    inspect = add_command("inspect", "summarise one event file (any supported format)")
    inspect.add_argument("file")
    inspect.set_defaults(func=cmd_inspect)
    table = add_command("table", "datasets table from events stores")
    table.add_argument("stores", nargs="+")
    table.add_argument("--out", default="results/tables/datasets.csv")
    table.set_defaults(func=cmd_table)
    figure = add_command("figure", "samples figure from an events store")
    figure.add_argument("store")
    figure.add_argument("--out", required=True)
    figure.add_argument("--samples-per-class", type=int, default=3)
    figure.add_argument("--max-classes", type=int, default=10)
    figure.add_argument("--split", default="test")
    figure.set_defaults(func=cmd_figure)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with logged(args.log, label=f"evrepro {args.command}: error", debug=args.debug):
        args.func(args)
    return 0
