"""Data-parallel training of GraphRes: several replicas of the model in one job, one process each.

``Replica`` is one process's place in a training: its rank among ``world`` replicas and its device. A training
with one replica needs no process group and every collective below is the identity, so a single-process run is
exactly the plain loop. With several, ``launch`` starts one process per replica (``torch.multiprocessing``,
NCCL on GPUs, gloo on the CPU) inside the one job, and each trains through ``DistributedDataParallel``:

- each global batch (the config's ``batch_size``) is cut into one contiguous shard per replica
  (``evrepro.training.execution.shard``: a batch smaller than the number of replicas goes whole to each, weighted
  1/world);
- each replica's loss is its share of the global batch's mean, so DDP's averaged gradients are the global
  batch's; the learning rate is the config's;
- BatchNorm normalises with the statistics of the whole global batch (``SyncedBatchNorm``), so the training
  equals one replica's up to the order of floating-point sums.
"""

import logging
import os
import signal
import socket
import sys
from contextlib import contextmanager

import torch
import torch.distributed as dist
import torch.multiprocessing as multiprocessing
from torch.distributed._functional_collectives import all_reduce as functional_all_reduce

from evrepro.logs import current_log, logged
from evrepro.training.execution import shard

log = logging.getLogger(__name__)
STOPPED_EXIT = 75  # a replica that stopped on a signal after its checkpoint (EX_TEMPFAIL)


class Replica:
    """One replica of a training: its ``rank`` of ``world`` and its ``device``."""

    def __init__(self, rank: int, world: int, device: torch.device):
        self.rank, self.world, self.device = rank, world, device

    @property
    def leader(self) -> bool:
        """Whether this replica validates and writes the checkpoints."""
        return self.rank == 0

    def shard(self, batch: list[int]) -> tuple[list[int], float]:
        """This replica's samples of a global batch and the weight of each (``evrepro.training.execution.shard``)."""
        return shard(batch, self.rank, self.world)

    def total(self, values: list[float]) -> list[float]:
        """Element-wise sums over the replicas."""
        if self.world == 1:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=self.collective_device)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def any(self, flags: list[bool]) -> list[bool]:
        """Element-wise: whether any replica's flag is set."""
        if self.world == 1:
            return list(flags)
        return [value > 0 for value in self.total([float(flag) for flag in flags])]

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    @property
    def collective_device(self) -> torch.device:
        return self.device if dist.get_backend() == "nccl" else torch.device("cpu")

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The model as this replica trains it: itself alone, or synchronised BatchNorm inside DDP."""
        if self.world == 1:
            return model
        for module in model.modules():
            if type(module) is torch.nn.BatchNorm1d:
                module.__class__ = SyncedBatchNorm  # the same parameters and buffers, the optimiser's own
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids, forward_sync_buffers=False)


class SyncedBatchNorm(torch.nn.BatchNorm1d):
    """BatchNorm1d that, in training with a process group, normalises with the statistics of the global batch.

    Each replica contributes its rows with the weight of its shard (``shard_weight``); the mean, the biased
    variance (normalisation) and the unbiased one (running statistics) are those of the weighted union, with
    gradients through the sums (functional collectives carry them). torch's own SyncBatchNorm runs on
    GPUs only and knows no weights.
    """

    shard_weight = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        weight = self.shard_weight
        sums = _all_reduce(torch.cat([x.sum(0) * weight, x.new_tensor([x.shape[0] * weight])]))
        count = sums[-1]
        mean = sums[:-1] / count
        variance = _all_reduce(((x - mean) ** 2).sum(0) * weight) / count
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                unbiased = variance * count / (count - 1)
                self.running_mean.mul_(1 - self.momentum).add_(mean.detach() * self.momentum)
                self.running_var.mul_(1 - self.momentum).add_(unbiased.detach() * self.momentum)
        y = (x - mean) / torch.sqrt(variance + self.eps)
        return y * self.weight + self.bias if self.affine else y


def _all_reduce(tensor: torch.Tensor) -> torch.Tensor:
    """The sum over the replicas, differentiable (its gradient is the sum of theirs)."""
    return functional_all_reduce(tensor, "sum", dist.group.WORLD)


def set_shard_weight(model: torch.nn.Module, weight: float) -> None:
    """The weight of this replica's rows in the global BatchNorm statistics of the next forward pass."""
    for module in model.modules():
        if isinstance(module, SyncedBatchNorm):
            module.shard_weight = weight


def launch(train, world: int, use_cuda: bool, *args) -> None:
    """Run ``train(replica, *args)`` in ``world`` processes, one per replica, and wait for them all.

    SIGTERM and SIGUSR1 reaching this process are passed on to the replicas (SLURM signals every process of a
    job; a person or a test may signal only this one). A replica that stopped on a signal after its checkpoint
    exits with ``STOPPED_EXIT``; this returns that exit status for the caller to report.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    with _main_script_hidden():
        context = multiprocessing.start_processes(_replica_main, args=(world, use_cuda, current_log(), train, args),
                                                  nprocs=world, join=False, start_method="spawn")

    def forward(number, frame):
        for process in context.processes:
            if process.is_alive():
                os.kill(process.pid, number)

    previous = {number: signal.signal(number, forward) for number in (signal.SIGTERM, signal.SIGUSR1)}
    try:
        while not context.join():
            pass
    except multiprocessing.ProcessExitedException as error:
        if error.exit_code == STOPPED_EXIT:
            return STOPPED_EXIT
        raise
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 0


@contextmanager
def _main_script_hidden():
    """Spawned processes re-run the parent's main script or module before their target (a rule script would
    start its whole job again in each replica); hide it while they start."""
    main = sys.modules["__main__"]
    saved = {name: getattr(main, name) for name in ("__file__", "__spec__") if hasattr(main, name)}
    main.__spec__ = None
    main.__dict__.pop("__file__", None)
    try:
        yield
    finally:
        main.__dict__.update(saved)


def _replica_main(rank: int, world: int, use_cuda: bool, log_path: str | None, train, args) -> None:
    """One replica's process: join the group, train, leave (``STOPPED_EXIT`` when a signal stopped it). It logs
    to the job's log, as the process that started it."""
    from evrepro.training.preemption import Stopped

    with logged(log_path, label=f"replica {rank}"):
        if use_cuda:
            torch.cuda.set_device(rank)
        dist.init_process_group("nccl" if use_cuda else "gloo", rank=rank, world_size=world)
        device = torch.device("cuda", rank) if use_cuda else torch.device("cpu")
        try:
            train(Replica(rank, world, device), *args)
        except Stopped as stopped:
            log.warning("replica %d: %s", rank, stopped)
            raise SystemExit(STOPPED_EXIT) from None
        finally:
            dist.destroy_process_group()
