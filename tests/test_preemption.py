"""The checkpoint cadence: a signal makes the next checkpoint the last one; data-parallel replicas stop on the decision
they agreed on, not on a signal that reached one of them while the checkpoint was being written; a signal outside the
loop is held: before it, the loop stops at its first checkpoint; after it, the job ends normally."""

import os
import signal

import pytest

from evrepro.training.preemption import CheckpointCadence, Stopped, held_signals


def test_a_signal_makes_the_next_checkpoint_the_last():
    with CheckpointCadence(minutes=60) as cadence:
        assert not cadence.due(1)
        os.kill(os.getpid(), signal.SIGUSR1)
        assert cadence.stopping and cadence.due(1)
        with pytest.raises(Stopped, match=r"^training stopped by SIGUSR1 at epoch 2, batch 7: its checkpoint x.pt is "):
            cadence.written("x.pt", 2, 7)
    assert signal.getsignal(signal.SIGUSR1) is not cadence._receive  # the handler is the previous one again


def test_replicas_stop_on_their_agreed_decision():
    with CheckpointCadence(minutes=60, every_batches=4) as cadence:
        assert cadence.due(4) and not cadence.due(3)
        os.kill(os.getpid(), signal.SIGTERM)  # reached this replica while the others were already past the vote
        cadence.written("x.pt", 0, 4, stop=False)  # carries on with the others ...
        assert cadence.due(5)  # ... and asks them to checkpoint after the next batch
        with pytest.raises(Stopped, match="SIGTERM at epoch 0, batch 5"):
            cadence.written("x.pt", 0, 5, stop=True)
    with CheckpointCadence(minutes=60) as cadence:
        cadence.request_stop(signal.SIGTERM)  # another replica was signalled
        with pytest.raises(Stopped):
            cadence.written("x.pt", 1, 0, stop=True)


def test_a_signal_outside_the_loop_is_held_not_fatal(caplog):
    default = signal.getsignal(signal.SIGUSR1)
    with held_signals():
        os.kill(os.getpid(), signal.SIGUSR1)  # while the model is built: the process lives on ...
        with CheckpointCadence(minutes=60) as cadence:
            assert cadence.due(1)  # ... and the loop checkpoints at its first batch, then stops
            with pytest.raises(Stopped, match="SIGUSR1 at epoch 0, batch 1"):
                cadence.written("x.pt", 0, 1)
    assert "SIGUSR1 received outside the training loop" in caplog.text
    with held_signals():
        with CheckpointCadence(minutes=60) as cadence:
            cadence.written("x.pt", 3, 0)  # the last epoch
        os.kill(os.getpid(), signal.SIGTERM)  # while the outputs are written: the job goes on to its end
    assert signal.getsignal(signal.SIGUSR1) is default
    with CheckpointCadence(minutes=60) as cadence:  # nothing held is left for the next job in this process
        assert not cadence.stopping
