"""AEGNN checkpoints hold tensors and plain data only: written atomically, read with ``weights_only=True``.

A file that does not load — cut short, overwritten, or a pickle that would build other objects (and could run
code) — is never loaded: ``load_checkpoint`` raises ``DamagedFile`` naming it and what is wrong, and the training's
folder sets it aside (``evrepro.training.folder``). The RNG states are stored as plain data: numpy's Mersenne
Twister state as a tensor and numbers (``numpy_rng_state``), Python's as tuples of integers.
"""

import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch

from evrepro.errors import DamagedFile
from evrepro.storage.fileio import atomic_output


def save_checkpoint(state: dict, path: Path) -> None:
    """Write ``state`` to ``path`` atomically (a full disk is named, nothing partial stays)."""
    with atomic_output(path) as temporary:
        torch.save(state, temporary)


def load_checkpoint(path: Path, device="cpu") -> dict:
    """The state in ``path``, its tensors on ``device``; ``DamagedFile`` if it does not load as tensors and plain
    data."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as refused:
        raise DamagedFile(f"{path}: refused, not loaded: it is not a checkpoint of tensors and plain data "
                          f"({_unpickler_reason(str(refused))})") from refused
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, KeyError) as damaged:
        reason = str(damaged).strip().splitlines()[0] if str(damaged).strip() else type(damaged).__name__
        raise DamagedFile(f"{path}: damaged checkpoint ({reason})") from damaged


def _unpickler_reason(message: str) -> str:
    """What torch's weights-only unpickler objected to, in one line (its message is a paragraph of advice)."""
    detail = message.split("WeightsUnpickler error:", 1)[-1].split("Check the documentation", 1)[0]
    return " ".join(detail.split()) or "unreadable"


def numpy_rng_state() -> dict:
    """numpy's global RNG state as plain data (a tensor and numbers)."""
    name, key, position, has_gauss, gauss = np.random.get_state()
    return {"bit_generator": name, "key": torch.from_numpy(key.astype(np.int64)), "position": int(position),
            "has_gauss": int(has_gauss), "cached_gaussian": float(gauss)}


def set_numpy_rng_state(state: dict) -> None:
    """Restore numpy's global RNG from ``numpy_rng_state``'s plain data."""
    np.random.set_state((state["bit_generator"], state["key"].numpy().astype(np.uint32), state["position"],
                         state["has_gauss"], state["cached_gaussian"]))
