"""The cluster profile against a real single-node SLURM (.ci/slurm-up.sh starts one; CI always does)."""

import os
import shutil
import subprocess

import pytest

from conftest import REPO
from evrepro.datasets.store import EventsStore
from project import make_project, snakemake, tiny_config


def slurm_is_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    state = subprocess.run(["timeout", "5", "sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    return "idle" in state.stdout or "mix" in state.stdout


pytestmark = [
    pytest.mark.workflow,
    pytest.mark.skipif(
        not slurm_is_up() and not os.environ.get("EVREPRO_REQUIRE_SLURM"),
        reason="no SLURM on this machine: sudo STATE_DIR=/tmp/slurm bash .ci/slurm-up.sh starts one "
        "(CI sets EVREPRO_REQUIRE_SLURM=1, so there this test never skips)",
    ),
]


def test_the_workflow_runs_through_sbatch_with_the_slurm_profile(tmp_path):
    root = make_project(tmp_path, tiny_config(max_images=12))
    result = snakemake(root, "--profile", str(REPO / "profiles" / "slurm"),
                       "--slurm-init-seconds-before-status-checks", "2", timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    with EventsStore(root / "results/events/digits.h5") as store:
        assert sum(store.num_samples(split) for split in store.splits) == 12
    # every rule but the local `all` ran as a SLURM job, with the per-rule resources of profiles/default
    for rule in ("fetch", "extract", "events", "datasets_table", "samples_figure"):
        assert list((root / "logs" / "slurm" / f"rule_{rule}").rglob("*.log")), f"no SLURM log for {rule}"
    assert "--mem 8000" in output or "mem_mb=8000" in output  # the events rule's memory reached sbatch
