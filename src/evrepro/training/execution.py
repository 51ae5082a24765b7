"""How a run's jobs execute — GPUs, threads, memory, time, checkpoint cadence — apart from what they compute.

A run's ``execution:`` block in the config (config/README.md). No value here enters a job's tracked params or a
training's identity (``evrepro.training.folder``), so editing one reruns nothing that exists. The workflow turns it
into each job's threads and the resources the SLURM executor plugin reads (``resources``); the trainers read the
device, the data-parallel replicas and the checkpoint cadence. Defaults live in the config schema only.
"""

from dataclasses import dataclass, fields
from functools import cache

import yaml

from evrepro.config import SCHEMA

# the jobs of a run: its training, and the jobs that score the trained model (one GPU at most)
JOBS = ("train", "evaluate")


@dataclass(frozen=True)
class Execution:
    """A run's ``execution`` block, resolved."""

    gpus: int  # GPUs of each training job; > 1 trains data-parallel inside that one job
    gpu_model: str | None  # a SLURM GPU type (--gpus=<type>:<n>); None: any
    device: str  # auto, cpu or gpu
    replicas: int | None  # data-parallel replicas; None: one per GPU, one without GPUs
    threads: int  # CPU threads of a job without GPUs
    cpus_per_gpu: int  # CPU threads per GPU of a job with GPUs
    mem_mb: int  # memory of a training job
    runtime: int  # minutes a training job may run
    checkpoint_minutes: float  # checkpoint within an epoch every N minutes of training
    checkpoint_every_batches: int | None  # and every N batches
    priority: int  # the training's Snakemake priority: the higher starts first when cores are short

    @classmethod
    def of(cls, block: dict | None, family: str) -> "Execution":
        """A run's execution settings: ``block`` (its ``execution:``) over the schema's defaults for ``family``."""
        values = {**schema_defaults(family), **(block or {})}
        unknown = sorted(set(values) - {field.name for field in fields(cls)})
        if unknown:
            raise ValueError(f"execution: unknown keys {', '.join(unknown)}")
        return cls(**values)

    @property
    def workers(self) -> int:
        """How many data-parallel replicas a training runs: ``replicas``, else one per GPU."""
        return self.replicas or max(self.gpus, 1)

    def job_gpus(self, job: str) -> int:
        """GPUs of one of the run's jobs: every GPU for training, one at most for the jobs that score it."""
        if job not in JOBS:
            raise ValueError(f"job {job!r} is none of {JOBS}")
        return self.gpus if job == "train" else min(self.gpus, 1)

    def job_threads(self, job: str) -> int:
        """CPU threads of one of the run's jobs: ``cpus_per_gpu`` per GPU, or ``threads`` without a GPU."""
        gpus = self.job_gpus(job)
        return gpus * self.cpus_per_gpu if gpus else self.threads

    def resources(self, job: str) -> dict:
        """The job's resources as snakemake-executor-plugin-slurm reads them (``gpu``, ``gpu_model``,
        ``cpus_per_gpu``, ``mem_mb``; ``runtime`` for training). ``None`` leaves a resource unset; no ``tasks``
        (with it, the plugin would start a job once per GPU)."""
        gpus = self.job_gpus(job)
        resources = {"gpu": gpus, "gpu_model": self.gpu_model if gpus else None,
                     "cpus_per_gpu": self.cpus_per_gpu if gpus else None, "mem_mb": self.mem_mb}
        if job == "train":
            resources["runtime"] = self.runtime
        return resources


@cache
def schema_defaults(family: str) -> dict:
    """The defaults of a family's ``execution`` block, read from the config schema."""
    definitions = yaml.safe_load(SCHEMA.read_text())["$defs"]
    key = f"{family}_execution"
    if key not in definitions:
        raise ValueError(f"no execution settings for model family {family!r}")
    return {name: spec["default"] for name, spec in definitions[key]["properties"].items()}


def shard(batch: list, rank: int, world: int) -> tuple[list, float]:
    """Replica ``rank``'s part of a global batch in data-parallel training, and the weight of each of its samples.

    Contiguous shards as even as can be; a batch smaller than ``world`` (the last of an epoch) goes whole to every
    replica with weight 1/world, so that every replica has work and the weighted union is the global batch.
    """
    if world == 1:
        return list(batch), 1.0
    if len(batch) < world:
        return list(batch), 1.0 / world
    size, extra = divmod(len(batch), world)
    start = rank * size + min(rank, extra)
    return list(batch[start : start + size + (rank < extra)]), 1.0
