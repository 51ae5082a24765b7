"""Real Snakemake projects for the tests: a temporary copy of the workflow with a tiny config, its planned
jobs, and a check that every declared output exists and opens."""

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import yaml
from conftest import REPO

WORKFLOW_FILES = ["Snakefile", "workflow", "scripts", "profiles", "slurm", "envs", "config"]
PNG_MAGIC, PNG_END = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"

TINY_AEGNN = {"family": "aegnn", "dataset": "digits", "seeds": [0, 1],
              "preprocessing": {"preset": "digits", "events_per_sample": 200},
              "network": {"preset": "ncars", "pool_voxel": [8, 8]},
              "training": {"epochs": 2, "batch_size": 8, "warmup_epochs": 1}}

TINY_ECN = {"family": "ecn", "dataset": "digits", "seeds": [0],
            "preprocessing": {"preset": "digits", "cache_repeats": 2, "flip_time": 0.5},
            "network": {"preset": "digits", "filters0": 4, "hidden_units": [16]},
            "training": {"epochs": 2, "batch_size": 8}}


def shared_config() -> dict:
    """The one trained tiny project the workflow and fault tests share: AEGNN run ``a`` (seeds 0 and 1, with the
    asynchronous evaluation of 2 streams) and ECN run ``e`` (seed 0) on 40 digit images."""
    config = tiny_config(max_images=40, runs={"a": copy.deepcopy(TINY_AEGNN), "e": copy.deepcopy(TINY_ECN)})
    config["async_eval"] = {"max_streams": 2, "check_every": 100}
    return config


def build_shared_project(root) -> Path:
    """Make and run the shared project in ``root``; its jobs are granted one thread (torch and TensorFlow use it)."""
    make_project(root, shared_config())
    result = snakemake(root, "--cores", "2", "--set-threads", "train_aegnn=1", "train_ecn=1")
    assert result.returncode == 0, result.stderr[-4000:]
    return Path(root)


def copy_project(template, root) -> Path:
    """A copy of a run project (results, Snakemake's records and all), ready to run or edit."""
    shutil.copytree(template, root, symlinks=True, dirs_exist_ok=True)
    return Path(root)


def make_project(root, config: dict):
    """Copy the workflow into ``root`` and write ``config`` as its config/config.yaml."""
    for name in WORKFLOW_FILES:
        source = REPO / name
        if source.is_symlink():  # `slurm`, the profile `snakemake --profile slurm` finds from the root
            os.symlink(os.readlink(source), root / name)
        else:
            (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    write_config(root, config)
    return root


def write_config(root, config: dict) -> None:
    (Path(root) / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def paper_config_with_local_copies(root) -> dict:
    """Point every ``root:`` of the project's config/paper.yaml at an (empty) folder in ``root``, as a user with the
    datasets would: planning refuses a root that does not exist. Returns the config written."""
    path = Path(root) / "config/paper.yaml"
    paper = yaml.safe_load(path.read_text())
    for name, dataset in paper["datasets"].items():
        if "root" in dataset:
            dataset["root"] = str(Path(root) / "copies" / name)
            Path(dataset["root"]).mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(paper, sort_keys=False))
    return paper


def tiny_config(max_images=30, recordings=1, runs=None, **report):
    return {"datasets": {"digits": {"generator": {"max_images": max_images, "recordings_per_image": recordings},
                                    "val_fraction": 0.2}},
            "report": {"samples_per_class": 2, "max_classes": 4, **report}, "runs": runs or {}}


def snakemake(root, *args, timeout=900):
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=root, capture_output=True, text=True,
                          timeout=timeout)


def dry_run_jobs(root, *args) -> set[str]:
    """The jobs ``snakemake -n`` plans, as ``rule`` or ``rule[key=value, ...]`` (the target rule ``all`` left out)."""
    result = snakemake(root, "-n", "--cores", "1", *args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return _parse_jobs(result.stdout + result.stderr)


def _parse_jobs(text: str) -> set[str]:
    jobs, rule, wildcards = set(), None, ""
    for line in text.splitlines() + [""]:
        header = re.match(r"^(?:local)?rule (\S+):$", line)
        if header:
            rule, wildcards = header.group(1), ""
        elif rule and line.strip().startswith("wildcards:"):
            wildcards = line.split(":", 1)[1].strip()
        elif rule and not line.strip():
            if rule != "all":
                jobs.add(f"{rule}[{wildcards}]" if wildcards else rule)
            rule = None
    return jobs


def dry_run_resources(root, *args) -> dict[str, dict[str, str]]:
    """{job: {resource: value}} of the jobs ``snakemake -n`` plans (jobs named as ``dry_run_jobs`` names them)."""
    result = snakemake(root, "-n", *args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    found, rule, wildcards, resources = {}, None, "", {}
    for line in (result.stdout + result.stderr).splitlines() + [""]:
        header = re.match(r"^(?:local)?rule (\S+):$", line)
        if header:
            rule, wildcards, resources = header.group(1), "", {}
        elif rule and line.strip().startswith("wildcards:"):
            wildcards = line.split(":", 1)[1].strip()
        elif rule and line.strip().startswith("resources:"):
            resources = dict(item.split("=", 1) for item in line.split(":", 1)[1].strip().split(", "))
        elif rule and not line.strip():
            found[f"{rule}[{wildcards}]" if wildcards else rule] = resources
            rule = None
    return found


def declared_outputs(root) -> list[Path]:
    """Every output file or folder the workflow declares for the current config."""
    result = snakemake(root, "-n", "--forceall", "--cores", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = []
    for line in (result.stdout + result.stderr).splitlines():
        if line.startswith("    output: "):
            outputs += [Path(root) / name.strip() for name in line.removeprefix("    output: ").split(",")]
    return sorted(set(outputs))


def open_output(path: Path) -> None:
    """Open ``path`` as what its name says it is and read all of it; raises if it is missing or damaged."""
    if path.is_dir():
        assert any(path.rglob("*")), f"{path}: empty folder"
        return
    suffix = path.suffix
    if suffix == ".h5":
        with h5py.File(path, "r") as handle:
            assert handle.attrs["format"].startswith("evrepro.")
            datasets = []
            handle.visititems(lambda name, item: datasets.append(item) if isinstance(item, h5py.Dataset) else None)
            for dataset in datasets:
                dataset[()]
    elif suffix == ".json":
        json.loads(path.read_text())
    elif suffix == ".csv":
        assert len(pd.read_csv(path)) > 0, f"{path}: no rows"
    elif suffix == ".png":
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC) and data.endswith(PNG_END), f"{path}: not a whole PNG"
    elif suffix == ".pdf":
        data = path.read_bytes()
        assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:], f"{path}: not a whole PDF"
    elif suffix == ".pt":
        import torch

        torch.load(path, map_location="cpu", weights_only=True)
    elif suffix == ".npz":
        with np.load(path) as data:
            for name in data.files:
                data[name]
    elif suffix == ".yaml":
        yaml.safe_load(path.read_text())
    else:
        assert path.stat().st_size > 0, f"{path}: empty"


INTERMEDIATES = ("resources/raw/",)  # the workflow's temp() outputs


def check_every_output_opens(root) -> int:
    """Open every declared output; returns how many there are. No temporary file of a killed writer may remain."""
    outputs = declared_outputs(root)
    for path in outputs:
        if not path.exists() and path.relative_to(Path(root)).as_posix().startswith(INTERMEDIATES):
            continue  # removed once the outputs that need it were written
        assert path.exists(), f"{path}: declared but missing"
        open_output(path)
    leftovers = [p for folder in ("results", "resources") for p in (Path(root) / folder).rglob(".*.tmp-*")]
    assert not leftovers, f"temporary files left behind: {leftovers}"
    return len(outputs)


def snapshot(root, pattern: str) -> dict[Path, int]:
    """{path: mtime in ns} of the files matching ``pattern`` under ``root``."""
    return {p: p.stat().st_mtime_ns for p in Path(root).glob(pattern)}


def kill_at_first(root, patterns: dict[str, str], timeout_s: float = 600) -> str | None:
    """Start ``snakemake --cores 2``; SIGKILL its whole process group as soon as a file matching one of
    ``patterns`` ({stage: glob}) is created or rewritten, and return that stage. None if the run ended first."""
    before = {stage: snapshot(root, pattern) for stage, pattern in patterns.items()}
    process = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2"], cwd=root,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while process.poll() is None:
        for stage, pattern in patterns.items():
            if any(before[stage].get(path) != mtime for path, mtime in snapshot(root, pattern).items()):
                os.killpg(process.pid, 9)
                process.wait()
                return stage
        assert time.monotonic() < deadline, f"none of {patterns} within {timeout_s} s"
        time.sleep(0.002)
    return None
