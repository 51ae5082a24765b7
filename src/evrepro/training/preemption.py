"""Checkpoints within an epoch: on a cadence, and at once when the job is told that it will end.

SLURM announces a job's end — preemption, ``scontrol requeue``, ``scancel``, the time limit — with SIGTERM to every
process of the job, then SIGKILL after ``KillWait`` (30 s by default); ``scancel --signal=USR1`` (or ``sbatch
--signal=USR1@120``) warns with SIGUSR1. A training inside a ``CheckpointCadence`` writes its checkpoint at the
current batch when either signal arrives and then stops with ``Stopped`` (one line, exit status 1), so that the
requeued or retried job resumes at that batch. It also checkpoints every ``minutes`` of training (and every
``every_batches`` batches when set), so that a SIGKILL without warning loses at most that much.

A training job runs inside ``held_signals``: a signal that arrives outside its loop (while the model is built, or while
the job writes its outputs after the last epoch) is held instead of ending the job — the loop then stops at its first
checkpoint, or the job finishes its outputs (seconds) and ends normally — so that a warning never wastes the work.

A cluster job's own Snakemake process calls ``outlive_a_warned_training``: SLURM signals every process of the job
step, Python's default for SIGUSR1 ends that Snakemake at once, and SLURM then kills what is left of the step —
the training, before it could write its checkpoint. (Snakemake already waits for its jobs on SIGTERM.)
"""

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from evrepro.errors import EvreproError

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGTERM, signal.SIGUSR1)
_held: list[int] = []  # the signals ``held_signals`` received outside a CheckpointCadence, in order


def outlive_a_warned_training() -> None:
    """Let SIGUSR1 pass over this process (a job's Snakemake) so that the job ends when its training has stopped.

    A Python handler, not ``SIG_IGN``: the processes it starts begin with the default again, as a training expects.
    """
    signal.signal(signal.SIGUSR1, lambda number, frame: None)


@contextmanager
def held_signals() -> Iterator[None]:
    """Around a whole training job: SIGTERM and SIGUSR1 received outside its ``CheckpointCadence`` are held.

    One held when the cadence starts makes it checkpoint at the first batch and stop; one received after the loop
    lets the job write its outputs and end normally. Only in the main thread (elsewhere it changes nothing).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def hold(number, frame):
        if not _held:
            log.warning("%s received outside the training loop: the job goes on to its next checkpoint or to its "
                        "outputs, then ends", signal.Signals(number).name)
        _held.append(number)

    previous = {number: signal.signal(number, hold) for number in SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _held.clear()


class Stopped(EvreproError):
    """A training stopped by a signal after writing its checkpoint: the next run resumes from it."""


class CheckpointCadence:
    """When a training writes a checkpoint within an epoch, and whether it must stop after writing it.

    Use it as a context manager around the training loop: it catches SIGTERM and SIGUSR1 there (in the main
    thread; elsewhere only the cadence applies). After every batch ask ``due(batch)``; after writing a checkpoint
    call ``written(...)``, which raises ``Stopped`` when a signal asked for it.
    """

    def __init__(self, minutes: float, every_batches: int | None = None):
        self.seconds, self.every_batches = minutes * 60, every_batches
        self.signal: int | None = None  # the first signal received
        self._last = time.monotonic()
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "CheckpointCadence":
        self._last = time.monotonic()
        if _held and self.signal is None:
            self._receive(_held[0], None)
        if threading.current_thread() is threading.main_thread():
            self._previous = {number: signal.signal(number, self._receive) for number in SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def _receive(self, number, frame) -> None:
        if self.signal is None:
            self.signal = number
            log.warning("%s received: checkpointing at the current batch, then stopping", signal.Signals(number).name)

    def request_stop(self, number: int) -> None:
        """Act as if ``number`` had been received (a signal another process of the training got)."""
        self._receive(number, None)

    @property
    def stopping(self) -> bool:
        return self.signal is not None

    def due(self, batch: int) -> bool:
        """Whether to checkpoint after ``batch`` batches of the epoch: a signal, the batch count or the clock."""
        if self.stopping or (self.every_batches and batch % self.every_batches == 0):
            return True
        return time.monotonic() - self._last >= self.seconds

    def written(self, path, epoch: int, batch: int, stop: bool | None = None) -> None:
        """A checkpoint at (``epoch``, ``batch``) was written to ``path``; raises ``Stopped`` if a signal asked.

        ``stop``: the decision the replicas of a data-parallel training agreed on before the checkpoint; a signal that
        reached this process only while it was written stops it at the next checkpoint, with the others.
        """
        self._last = time.monotonic()
        if self.stopping if stop is None else stop:
            name = signal.Signals(self.signal).name
            raise Stopped(f"training stopped by {name} at epoch {epoch}, batch {batch}: its checkpoint {path} is "
                          "written and the next run resumes from it")
