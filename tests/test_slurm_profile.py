"""The whole default pipeline through a real single-node SLURM with GPUs declared as GRES (.ci/slurm-up.sh starts
one; CI always does): every non-local job through sbatch, training jobs asking for their GPU, a training requeued
mid-run and one signalled to stop, both resuming, and the metrics equal to a local run's."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from project import TINY_AEGNN, TINY_ECN, make_project, snakemake, tiny_config


def slurm_is_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    state = subprocess.run(["timeout", "5", "sinfo", "-h", "-o", "%T %G"], capture_output=True, text=True)
    return bool(re.search(r"(idle|mix)\S* gpu:fake:\d", state.stdout))


pytestmark = [
    pytest.mark.workflow,
    pytest.mark.skipif(
        not slurm_is_up() and not os.environ.get("EVREPRO_REQUIRE_SLURM"),
        reason="no SLURM with fake GPUs on this machine: sudo STATE_DIR=/tmp/slurm bash .ci/slurm-up.sh starts one "
        "(CI sets EVREPRO_REQUIRE_SLURM=1, so there this test never skips)",
    ),
]
# one GPU per training, one CPU thread per GPU, memory for both at once on a CI node; a checkpoint every 2 batches
EXECUTION = {"gpus": 1, "cpus_per_gpu": 1, "mem_mb": 2000, "checkpoint_every_batches": 2}
SLURM_RULES = {"fetch", "extract", "events", "graphs", "streams", "train_aegnn", "train_ecn", "evaluate_aegnn",
               "evaluate_ecn", "async_eval"}
LOCAL_RULES = {"datasets_table", "samples_figure", "runs_table", "training_curves", "stream_figures", "graph_figure",
               "async_table", "async_figures", "compute_table", "paper_tables", "paper_figure", "results_index"}


def cluster_config() -> dict:
    # a tiny epoch takes 0.1-0.3 s: enough of them that each training is still running seconds after its first
    # checkpoint, when the test signals it (a signal after the last epoch lets the job end normally)
    aegnn = {**TINY_AEGNN, "seeds": [0], "training": {**TINY_AEGNN["training"], "epochs": 40, "batch_size": 4},
             "execution": EXECUTION}
    ecn = {**TINY_ECN, "training": {**TINY_ECN["training"], "epochs": 30, "batch_size": 4}, "execution": EXECUTION}
    config = tiny_config(max_images=30, runs={"a": aegnn, "e": ecn})
    config["async_eval"] = {"max_streams": 2, "check_every": 100}
    return config


def running_job(rule: str, run: str) -> str | None:
    """The SLURM id of ``rule``'s job for ``run`` (seed 0) while it runs (the plugin's job comment names both)."""
    listing = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-o", "%i %k"], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        job, comment = (line.split(None, 1) + [""])[:2]
        if comment.strip() == f"rule_{rule}_wildcards_{run}_0":
            return job
    return None


def interrupt_when_checkpointed(root: Path, rule: str, run: str, checkpoint: str, command: list[str],
                                process) -> str:
    """Once ``run``'s training has written a checkpoint, run ``command`` + [its job id]; returns the id."""
    last = root / f"results/runs/{run}/seed-0/checkpoints/{checkpoint}"
    deadline = time.monotonic() + 600
    while not (last.exists() and running_job(rule, run)):
        assert process.poll() is None, "the workflow ended before the training could be interrupted"
        assert time.monotonic() < deadline, f"no checkpoint of {run} within 600 s"
        time.sleep(0.1)
    job = running_job(rule, run)
    subprocess.run([*command, job], check=True)
    return job


def release_when_requeued(job: str) -> None:
    """SLURM holds a requeued batch job for ~2 minutes before it may start again; let it start at once."""
    deadline = time.monotonic() + 120
    while subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], capture_output=True,
                         text=True).stdout.strip() != "PENDING":
        assert time.monotonic() < deadline, f"job {job} was not requeued"
        time.sleep(0.2)
    subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], check=True)


def requeue_when_checkpointed(root: Path, rule: str, run: str, checkpoint: str, process) -> str:
    """Requeue ``run``'s training job once it has written a checkpoint, and let it start again at once."""
    job = interrupt_when_checkpointed(root, rule, run, checkpoint, ["scontrol", "requeue"], process)
    release_when_requeued(job)
    return job


def test_the_default_pipeline_runs_through_slurm_with_gpus_and_survives_a_requeue_and_a_retry(tmp_path):
    for name in ("local", "cluster"):
        (tmp_path / name).mkdir()
    local = make_project(tmp_path / "local", cluster_config())
    root = make_project(tmp_path / "cluster", cluster_config())
    metrics = [f"results/runs/{run}/seed-0/metrics.json" for run in ("a", "e")]  # the reference: trained alone
    assert snakemake(local, "--cores", "2", *metrics).returncode == 0
    process = subprocess.Popen([sys.executable, "-m", "snakemake", "--profile", "slurm",
                                "--slurm-init-seconds-before-status-checks", "2"], cwd=root,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # AEGNN's job is requeued (SIGTERM, then it runs again under the same id); ECN's is told to stop (SIGUSR1),
    # fails, and Snakemake resubmits it. Both resume from the checkpoint they write on the signal. Each is watched
    # on a thread of its own, so that each is signalled at its first checkpoint, well before its last epoch.
    with ThreadPoolExecutor(2) as watchers:
        aegnn = watchers.submit(requeue_when_checkpointed, root, "train_aegnn", "a", "last.pt", process)
        ecn = watchers.submit(interrupt_when_checkpointed, root, "train_ecn", "e", "last.npz",
                              ["scancel", "--signal=USR1"], process)
        requeued, signalled = aegnn.result(), ecn.result()
    output = process.communicate(timeout=1500)[0]
    assert process.returncode == 0, output[-5000:]

    for run in ("a", "e"):
        cluster, alone = (json.loads((project / f"results/runs/{run}/seed-0/metrics.json").read_text())
                          for project in (root, local))
        assert cluster == alone, run
        record = json.loads((root / f"results/runs/{run}/seed-0/model.json").read_text())
        assert record["compute"]["jobs"] >= 2, f"{run}: the interrupted job's training was not resumed"
    # the first job's one line is in its SLURM log (Snakemake starts a job's rule log afresh); the next one resumed
    for run, rule, name in (("a", "train_aegnn", "SIGTERM"), ("e", "train_ecn", "SIGUSR1")):
        slurm_logs = "".join(log.read_text() for log in (root / f"logs/slurm/rule_{rule}").rglob("*.log"))
        assert re.search(rf"error: training stopped by {name} at epoch \d+, batch \d+: its checkpoint "
                         rf"results/runs/{run}/seed-0/checkpoints/last\.\w+ is written", slurm_logs), run
        assert "resuming from" in (root / f"logs/train/{run}_seed-0.log").read_text()
    # the signal did not end the job's Snakemake before its training (SLURM would then have killed the training)
    assert "task 0: User defined signal 1" not in slurm_logs

    # SLURM scheduled each training on a GPU of its own, with one task
    for job in (requeued, signalled):
        shown = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True).stdout
        assert "TresPerJob=gres:gpu:1\n" in shown and "NumTasks=1 " in shown, shown
    # every non-local job went through sbatch; the table and figure rules ran here
    submitted = {folder.name.removeprefix("rule_") for folder in (root / "logs/slurm").iterdir()}
    assert submitted == SLURM_RULES
    assert {f"localrule {rule}:" in output for rule in LOCAL_RULES} == {True}
    report = snakemake(root, "--report", "results/report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    assert "runs.csv" in (root / "results/report.html").read_text()
