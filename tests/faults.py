"""The fault suites' tools: a trained project's copy whose config the tests edit, the jobs an edit should plan,
and file digests to show what stayed byte for byte."""

import hashlib
from pathlib import Path

from project import copy_project, dry_run_jobs, shared_config, snakemake, write_config

from evrepro import layout

ECN_TABLES = {"runs_table", "compute_table", "paper_tables", "paper_figure", "training_curves",
              "results_index"}  # no async evaluation
TABLES_AND_FIGURES = ECN_TABLES | {"async_table", "async_figures"}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digests(folder: Path) -> dict[str, str]:
    """Hash of every file under ``folder`` (superseded trainings left out)."""
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and "superseded" not in p.parts}


def jobs(rule: str, run: str, *seeds: int) -> set[str]:
    return {f"{rule}[run={run}, seed={seed}]" for seed in seeds}


def ecn_jobs(run: str, *seeds: int) -> set[str]:
    return jobs("train_ecn", run, *seeds) | jobs("evaluate_ecn", run, *seeds)


def aegnn_jobs(run: str, *seeds: int) -> set[str]:
    return jobs("train_aegnn", run, *seeds) | jobs("evaluate_aegnn", run, *seeds) | jobs("async_eval", run, *seeds)


class Project:
    """A workflow copy with its current config; ``apply`` edits the config, ``run`` runs the workflow."""

    def __init__(self, root: Path, config: dict):
        self.root, self.config = root, config

    def apply(self, edit) -> set[str]:
        """Edit the config in place and write it; returns the jobs Snakemake now plans."""
        edit(self.config)
        write_config(self.root, self.config)
        return dry_run_jobs(self.root)

    def run(self, *args):
        result = snakemake(self.root, "--cores", "2", *args)
        assert result.returncode == 0, result.stderr[-4000:]
        return result

    def seed_dir(self, run: str, seed: int) -> Path:
        return self.root / layout.fill(layout.RUN, run=run, seed=seed)


def project_copy(trained_project, folder) -> Project:
    """A copy of the shared trained project (AEGNN run ``a``, seeds 0 and 1; ECN run ``e``, seed 0) in ``folder``."""
    root = copy_project(trained_project, folder)
    assert dry_run_jobs(root) == set()  # the copy is complete: nothing to do
    return Project(root, shared_config())
