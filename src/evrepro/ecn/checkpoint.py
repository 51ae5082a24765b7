"""ECN checkpoints: groups of arrays (variables keyed by their path) and a JSON state in one ``.npz``, atomically."""

import json
import zipfile
from pathlib import Path

import numpy as np

from evrepro.errors import DamagedFile
from evrepro.storage.fileio import atomic_output


def variable_arrays(variables) -> dict[str, np.ndarray]:
    """The values of ``variables``, keyed by their path (``ecn_vox_pool/stem/kernel``), not by creation order."""
    arrays = {variable.path: np.asarray(variable.numpy()) for variable in variables}
    if len(arrays) != len(variables):
        raise ValueError("variables with the same path cannot be checkpointed by path")
    return arrays


def assign_arrays(variables, arrays: dict, what: str, path) -> None:
    """Set ``variables`` from arrays ``variable_arrays`` made; an error names the file, what and the variable."""
    missing = sorted({variable.path for variable in variables} - set(arrays))
    if missing or len(arrays) != len(variables):
        raise ValueError(f"{path}: {what} hold {len(arrays)} arrays for {len(variables)} variables; missing: "
                         f"{', '.join(missing[:3]) or 'none'}")
    for variable in variables:
        value = arrays[variable.path]
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(f"{path}: {what} {variable.path} has shape {value.shape}, "
                             f"expected {tuple(variable.shape)}")
        variable.assign(value)


def save_arrays(path: Path, groups: dict[str, dict[str, np.ndarray]], state: dict) -> None:
    """Write groups of arrays and a JSON state to one .npz, atomically."""
    flat = {f"{group}/{key}": value for group, arrays in groups.items() for key, value in arrays.items()}
    with atomic_output(path) as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, state=np.array(json.dumps(state)), **flat)


def load_arrays(path: Path) -> tuple[dict[str, dict[str, np.ndarray]], dict]:
    """The groups of arrays and the JSON state of a file written by ``save_arrays``; ``DamagedFile`` if it does not
    load as such (cut short, overwritten, or holding pickled objects, which are never loaded)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            groups: dict[str, dict[str, np.ndarray]] = {}
            for name in data.files:
                if name != "state":
                    group, key = name.split("/", 1)
                    groups.setdefault(group, {})[key] = data[name]
            return groups, json.loads(str(data["state"]))
    except (zipfile.BadZipFile, ValueError, KeyError, EOFError, OSError) as damaged:
        if isinstance(damaged, OSError) and damaged.errno is not None:
            raise  # a missing or unreadable file is not a damaged one
        reason = str(damaged).strip().splitlines()[0] if str(damaged).strip() else type(damaged).__name__
        raise DamagedFile(f"{path}: damaged checkpoint ({reason})") from damaged
