"""A run × seed's folder and the training it holds: config edits never destroy a trained model.

``results/runs/{run}/seed-{seed}/checkpoints/last.*`` is the durable record of a training: weights,
optimiser, history and the best weights so far. Everything else in the folder (``best.*``,
``history.csv``, ``model.json``, test results) is rewritten from it, so a job that finds its
training complete rewrites them and succeeds, and a failed job never deletes the only copy.

``checkpoints/training.json`` says which training the checkpoint belongs to: family, dataset, seed,
the cache it trains on, and every network and training value (how the job executes, the run's
``execution`` block, is not part of it). When a job starts, ``claim`` compares it with the training asked for:

- the same training, with as many epochs or more: the checkpoint is kept and training resumes
  (or, already complete, only the outputs are rewritten);
- a different one (another value, another cache, fewer epochs than it already trained, or a
  checkpoint with no record): the folder's contents move to ``superseded/<time>-<fingerprint>/``
  and training starts afresh — unless a superseded training matches the one asked for, which is
  then moved back and resumed. Nothing is deleted.

A checkpoint that does not load (``evrepro.errors.DamagedFile``: cut short, overwritten, or refused because it
holds more than tensors and plain data) is set aside the same way, with the reason, and never loaded; the training
then restores a matching superseded one or starts over, and says which in one line.
"""

import json
import logging
import os
import resource
import time
from datetime import datetime, timezone
from pathlib import Path

from evrepro.errors import DamagedFile
from evrepro.layout import CHECKPOINTS, SUPERSEDED, SUPERSEDED_NOTE, TRAINING_RECORD
from evrepro.storage.fileio import atomic_output, params_hash

log = logging.getLogger(__name__)



def training_params(run: dict) -> dict:
    """What decides a run × seed's training besides its cache: the train rules' tracked ``params``."""
    return {"family": run["family"], "dataset": run["dataset"], "network": run.get("network", {}),
            "training": run.get("training", {})}


def cache_identity(cache_path) -> dict:
    """What identifies a cache's content: its format, preprocessing parameters and the inputs it was built from."""
    from evrepro.storage.h5meta import open_store

    with open_store(cache_path) as handle:
        return {"format": handle.attrs["format"], "params": json.loads(handle.attrs["params"]),
                "inputs": json.loads(handle.attrs["inputs"])}


def training_identity(family: str, dataset: str, seed: int, cache_path, network: dict, training: dict,
                      checkpoint_format: str = "") -> dict:
    """Everything that decides a training's weights (resolved values), and the format of its checkpoint."""
    identity = {"family": family, "checkpoint": checkpoint_format, "dataset": dataset, "seed": seed,
                "cache": cache_identity(cache_path), "network": network, "training": training}
    return json.loads(json.dumps(identity))  # tuples as lists, as read back from JSON


def fingerprint(identity: dict) -> str:
    """A short hash of a training identity, ignoring its number of epochs (more epochs extend a training)."""
    return params_hash({**identity, "training": {k: v for k, v in identity["training"].items() if k != "epochs"}})


def differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """``key: old -> new`` for every value that differs between two identities."""
    found = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            found.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return found


class ComputeMeter:
    """Wall time, CPU time and peak memory of one training across every job that ran it.

    Its ``totals`` live in the checkpoint, so a resumed job adds its own share to what the killed ones
    spent (up to their last checkpoint); the Snakemake benchmark of a job sees only that job.
    """

    def __init__(self, totals: dict | None = None):
        self.totals = dict(totals or {"wall_s": 0.0, "cpu_s": 0.0, "peak_rss_mb": 0.0, "jobs": 0})
        self.totals["jobs"] += 1
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def update(self) -> dict:
        """Add the time spent since the last update; returns the totals (JSON-ready)."""
        wall, cpu = time.perf_counter(), time.process_time()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
        self.totals["wall_s"] += wall - self._wall
        self.totals["cpu_s"] += cpu - self._cpu
        self.totals["peak_rss_mb"] = max(self.totals["peak_rss_mb"], peak_mb)
        self._wall, self._cpu = wall, cpu
        return dict(self.totals)


class RunFolder:
    """``results/runs/{run}/seed-{seed}``: its checkpoint, the record of its training, superseded trainings."""

    def __init__(self, path):
        self.path = Path(path)
        self.checkpoints = self.path / Path(CHECKPOINTS).name
        self.record = self.checkpoints / TRAINING_RECORD

    def last_checkpoint(self, folder: Path | None = None) -> Path | None:
        """``checkpoints/last.*`` of this folder (or of a superseded one), if there is one."""
        found = sorted((folder or self.path).joinpath(self.checkpoints.name).glob("last.*"))
        return found[0] if found else None

    def claim(self, identity: dict, epochs_done) -> str:
        """Make the folder hold the training ``identity`` describes; ``epochs_done(last)`` reads a checkpoint.

        Returns what was done: ``"resume"`` (a matching checkpoint, possibly complete), ``"restore"`` (a
        superseded training moved back) or ``"fresh"`` (no usable checkpoint). See the module docstring.
        """
        epochs = identity["training"]["epochs"]
        last = self.last_checkpoint()
        if last is not None:
            recorded = json.loads(self.record.read_text())["identity"] if self.record.exists() else None
            try:
                done, damaged = epochs_done(last), None
            except DamagedFile as error:
                done, damaged = 0, str(error)
            if damaged:
                because = [f"damaged: {damaged}"]
            elif recorded is None:
                because = ["no record of what it was trained with"]
            elif fingerprint(recorded) != fingerprint(identity):
                because = [d for d in differences(recorded, identity) if not d.startswith("training.epochs:")]
            elif done > epochs:
                because = [f"it trained {done} epochs, {epochs} are asked for"]
            else:
                self._write_record(identity)
                return "resume"
            self._set_aside(recorded, done, because, usable=damaged is None)
        action = "restore" if self._restore(identity) else "fresh"
        if action == "fresh":
            (log.warning if last is not None else log.info)("%s: training from scratch", self.path)
        self._write_record(identity)
        return action

    def _write_record(self, identity: dict) -> None:
        record = {"identity": identity, "fingerprint": fingerprint(identity)}
        if self.record.exists() and json.loads(self.record.read_text()) == record:
            return
        with atomic_output(self.record) as temporary:
            temporary.write_text(json.dumps(record, indent=2))

    def _set_aside(self, recorded: dict | None, done: int, because: list[str], usable: bool = True) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.path / SUPERSEDED / f"{stamp}-{fingerprint(recorded) if recorded else 'unrecorded'}"
        target.mkdir(parents=True)
        for item in sorted(self.path.iterdir()):
            if item.name != SUPERSEDED:
                os.replace(item, target / item.name)
        note = {"epochs_done": done, "set_aside": stamp, "because": because, "usable": usable}
        (target / SUPERSEDED_NOTE).write_text(json.dumps(note, indent=2))
        log.warning("%s: the checkpoint is set aside (%s); moved to %s",
                    self.path, "; ".join(because), target.relative_to(self.path))

    def _restore(self, identity: dict) -> bool:
        """Move back the superseded training that matches ``identity`` with the most epochs done, if any."""
        candidates = []
        root = self.path / SUPERSEDED
        for folder in sorted(root.iterdir() if root.is_dir() else []):
            record, note = folder / self.checkpoints.name / TRAINING_RECORD, folder / SUPERSEDED_NOTE
            if not (record.exists() and note.exists() and self.last_checkpoint(folder)):
                continue
            noted = json.loads(note.read_text())
            done, same = noted["epochs_done"], fingerprint(json.loads(record.read_text())["identity"]) == fingerprint(
                identity)
            if noted.get("usable", True) and same and done <= identity["training"]["epochs"]:
                candidates.append((done, folder.name))
        if not candidates:
            return False
        folder = root / max(candidates)[1]
        (folder / SUPERSEDED_NOTE).unlink()
        _move_into(folder, self.path)  # over what an unstarted training left (its record, its config)
        log.warning("%s: restored the training set aside in %s/%s", self.path, SUPERSEDED, folder.name)
        return True


def _move_into(source: Path, destination: Path) -> None:
    """Move a folder's contents into another, merging subfolders and replacing files; removes ``source``."""
    destination.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.is_dir() and (destination / item.name).is_dir():
            _move_into(item, destination / item.name)
        else:
            os.replace(item, destination / item.name)
    source.rmdir()
