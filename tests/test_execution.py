"""A run's execution block: defaults from the schema, the jobs' threads and the SLURM resources the plugin reads,
the moved keys, and the paper config planned through `snakemake --profile slurm` from the repository root."""

import os
import re

import pytest
import yaml
from project import dry_run_resources, make_project, paper_config_with_local_copies, tiny_config

from evrepro.config import SCHEMA, validate_config
from evrepro.errors import ConfigError
from evrepro.training.execution import Execution, schema_defaults


def test_an_empty_block_resolves_to_the_schemas_defaults_through_validation_too():
    config = validate_config({"datasets": {"digits": {}}, "runs": {"a": {"family": "aegnn", "dataset": "digits"},
                                                                   "e": {"family": "ecn", "dataset": "digits"}}})
    for name, family in (("a", "aegnn"), ("e", "ecn")):
        assert config["runs"][name]["execution"] == schema_defaults(family)
        assert Execution.of(config["runs"][name]["execution"], family) == Execution.of(None, family)
    aegnn, ecn = Execution.of(None, "aegnn"), Execution.of(None, "ecn")
    assert (aegnn.gpus, aegnn.device, aegnn.workers, aegnn.checkpoint_minutes) == (0, "auto", 1, 10)
    assert (aegnn.mem_mb, ecn.mem_mb) == (8000, 16000)  # the former rules' memory, per family


def test_a_training_job_asks_for_every_gpu_and_a_scoring_job_for_one_never_with_tasks():
    laptop = Execution.of(None, "ecn")
    assert laptop.resources("train") == {"gpu": 0, "gpu_model": None, "cpus_per_gpu": None, "mem_mb": 16000,
                                         "runtime": 1440}
    assert laptop.job_threads("train") == laptop.job_threads("evaluate") == 2
    cluster = Execution.of({"gpus": 4, "gpu_model": "a100", "cpus_per_gpu": 6, "mem_mb": 64000}, "aegnn")
    assert cluster.resources("train") == {"gpu": 4, "gpu_model": "a100", "cpus_per_gpu": 6, "mem_mb": 64000,
                                          "runtime": 1440}
    assert cluster.resources("evaluate") == {"gpu": 1, "gpu_model": "a100", "cpus_per_gpu": 6, "mem_mb": 64000}
    assert (cluster.job_threads("train"), cluster.job_threads("evaluate"), cluster.workers) == (24, 6, 4)
    assert Execution.of({"gpus": 4, "replicas": 1}, "aegnn").workers == 1
    with pytest.raises(ValueError, match="job 'report'"):
        cluster.resources("report")


@pytest.mark.parametrize("key, hint", [("device", "execution.device"), ("checkpoint_every_batches",
                                                                       "execution.checkpoint_every_batches"),
                                       ("threads", "execution.threads")])
def test_execution_keys_under_training_are_refused_with_where_they_moved(key, hint):
    config = {"datasets": {"digits": {}}, "runs": {"a": {"family": "ecn", "dataset": "digits",
                                                         "training": {key: 1}}}}
    with pytest.raises(ConfigError, match=rf"^config runs\.a\.training\.{key}: moved to the run's {re.escape(hint)}"):
        validate_config(config)


def test_the_execution_block_is_one_fact_in_the_schema():
    definitions = yaml.safe_load(SCHEMA.read_text())["$defs"]
    keys = set(definitions["aegnn_execution"]["properties"])
    assert keys == set(definitions["ecn_execution"]["properties"]) == set(Execution.__dataclass_fields__)


def test_a_run_s_priority_orders_its_training_and_ecn_s_starts_first_by_default(tmp_path):
    from project import TINY_AEGNN, TINY_ECN, snakemake

    later = {**TINY_AEGNN, "seeds": [0], "execution": {"priority": -1}}
    root = make_project(tmp_path, tiny_config(runs={"a": {**TINY_AEGNN, "seeds": [0]}, "e": TINY_ECN, "later": later}))
    result = snakemake(root, "-n", "--cores", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    planned = {}
    for job in (result.stdout + result.stderr).split("\n\n"):
        run = re.search(r"wildcards: run=(\w+), seed=0", job)
        if run and re.search(r"^rule train_", job.strip(), re.M):
            found = re.search(r"priority: (-?\d+)", job)
            planned[run.group(1)] = int(found.group(1)) if found else 0  # Snakemake prints a priority other than 0
    assert planned == {"a": 0, "e": 1, "later": -1}


def test_the_paper_config_planned_through_the_slurm_profile_asks_for_gpus(tmp_path):
    # typed as a user types it at the repository root: `slurm` there is the cluster profile
    root = make_project(tmp_path, tiny_config())
    assert os.path.realpath(root / "slurm") == str((root / "profiles" / "slurm").resolve())
    paper = paper_config_with_local_copies(root)
    jobs = dry_run_resources(root, "--configfile", "config/paper.yaml", "--profile", "slurm")
    training = {job: resources for job, resources in jobs.items() if job.startswith("train_")}
    assert len(training) == sum(len(run.get("seeds", [0])) for run in paper["runs"].values()) == 65
    for job, resources in training.items():
        run = paper["runs"][re.search(r"run=([^,\]]+)", job).group(1)]
        assert resources["gpu"] == "1" and resources["cpus_per_gpu"] == "8", job
        assert resources["mem_mb"] == str(run["execution"]["mem_mb"]) and resources["runtime"] == "1440", job
        assert "tasks" not in resources and "tasks_per_gpu" not in resources and "gpu_model" not in resources
    scoring = {job: r for job, r in jobs.items() if job.startswith(("evaluate_", "async_eval"))}
    assert scoring and all(resources["gpu"] == "1" for resources in scoring.values())
    # the data and cache jobs ask for none
    assert all("gpu" not in r for job, r in jobs.items()
               if job.startswith(("fetch", "events", "graphs", "streams", "detection_graphs")))


def test_the_gpu_install_is_its_own_extra_and_never_part_of_make():
    import tomllib

    from conftest import REPO

    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "tensorflow[and-cuda]>=2.16" in extras["ecn-gpu"]
    assert not any("tensorflow-cpu" in requirement for requirement in extras["ecn-gpu"])
    assert extras["gpu"] == ["evrepro[data,aegnn,ecn-gpu,report,slurm]"]  # `all` with TensorFlow's CUDA build
    for name in ("all", "dev", "aegnn", "ecn"):
        assert not any("gpu" in requirement for requirement in extras[name]), name
    assert "gpu" not in (REPO / "Makefile").read_text() and ".[gpu]" not in (REPO / ".ci" / "run").read_text()
    # every family's rules have a conda environment for CPU and for GPU nodes, and only the GPU one pulls CUDA
    for family in ("aegnn", "ecn"):
        cpu, gpu = (yaml.safe_load((REPO / "envs" / name).read_text()) for name in (f"{family}.yaml",
                                                                                      f"{family}-gpu.yaml"))
        cpu, gpu = (" ".join(env["dependencies"][-1]["pip"]) for env in (cpu, gpu))
        assert "+cpu" in cpu or "[ecn]" in cpu, cpu
        assert "+cpu" not in gpu and "[ecn]" not in gpu, gpu
