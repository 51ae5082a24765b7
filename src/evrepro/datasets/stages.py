"""The data stages of the workflow: fetch (download or generate), extract, events."""

import json
import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from evrepro.datasets import digits
from evrepro.datasets.download import download
from evrepro.datasets.extract import check_archive, extract_all
from evrepro.datasets.layouts import list_samples
from evrepro.datasets.registry import get_dataset
from evrepro.datasets.splits import validation_mask
from evrepro.datasets.store import write_events_store
from evrepro.events import read
from evrepro.events.array import check_field_range, first_decrease
from evrepro.fileio import atomic_output, sha256_file

log = logging.getLogger(__name__)


def fetch(name: str, dataset_config: dict, manifest_path: str | Path, progress: bool = True) -> Path:
    """Download (or, for an embedded dataset, generate) the archives of ``name`` beside ``manifest_path``.

    Writes the manifest last, listing each archive with its size and SHA-256 and the source.
    """
    spec, manifest_path = get_dataset(name), Path(manifest_path)
    out_dir = manifest_path.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    if spec.generator == "digits":
        params = digits.DigitsParams.from_config(dataset_config.get("generator", {}))
        target = out_dir / "digits.zip"
        with atomic_output(target) as temporary:
            count = digits.write_archive(temporary, params, progress)
        log.info("generated %d recordings into %s", count, target)
        files = [target]
        source = {"generator": "evrepro.datasets.digits", "params": params.as_dict()}
    else:
        urls = tuple(dataset_config.get("urls") or ()) or None
        files = [download(archive, out_dir, urls=urls, progress=progress) for archive in spec.archives]
        source = {"archives": [{"filename": a.filename, "urls": list(urls or a.urls), "sha256": a.sha256,
                                "verified": a.verified} for a in spec.archives]}
    manifest = {
        "dataset": name,
        "files": [{"name": f.name, "size": f.stat().st_size, "sha256": sha256_file(f)} for f in files],
        "source": source,
    }
    with atomic_output(manifest_path) as temporary:
        temporary.write_text(json.dumps(manifest, indent=2))
    return manifest_path


def extract(manifest_path: str | Path, raw_dir: str | Path, progress: bool = True) -> None:
    """Unpack every archive listed in a fetch manifest into ``raw_dir``, each checked against the manifest first."""
    manifest_path = Path(manifest_path)
    manifest = json.loads(manifest_path.read_text())
    archives = [manifest_path.parent / entry["name"] for entry in manifest["files"]]
    for archive, entry in zip(archives, manifest["files"]):
        check_archive(archive, entry["size"], entry["sha256"], manifest_path)
    extract_all(archives, raw_dir, progress)


def build_events(name: str, dataset_config: dict, manifest_path: str | Path, raw_dir: str | Path,
                 out_path: str | Path, progress: bool = True) -> dict[str, int]:
    """Read every sample of the extracted dataset into the events store, carving a validation split.

    Bad recordings follow one policy each (README, "Bad input"): coordinates outside the sensor stop
    the build naming file, event and value; a recording whose timestamps decrease is sorted by time
    (stable) with a warning; an empty recording is left out with a warning. Both are listed in the
    store's ``resorted_recordings`` and ``empty_recordings`` attributes.
    """
    spec = get_dataset(name)
    manifest = json.loads(Path(manifest_path).read_text())
    samples = list_samples(raw_dir, spec)
    splits = np.array([split for split, *_ in samples])
    train = np.flatnonzero(splits == "train")
    fraction, seed = dataset_config["val_fraction"], dataset_config["split_seed"]
    is_val = validation_mask([samples[i][2] for i in train], np.array([samples[i][1] for i in train]),
                             fraction, seed)
    splits[train[is_val]] = "val"
    order = sorted(range(len(samples)), key=lambda i: ({"train": 0, "val": 1, "test": 2}[splits[i]], i))
    empty, resorted = [], []

    def stream():
        for i in tqdm(order, desc=f"{name}: events", disable=not progress, mininterval=2):
            _, label, sample_id, path = samples[i]
            events = read(path)
            for field, size in zip("xy", spec.sensor_size):
                check_field_range(events, field, 0, size - 1, f"{path} (sensor {spec.sensor_size})")
            record = {"split": str(splits[i]), "sample_id": sample_id, "file": str(Path(path).relative_to(raw_dir))}
            if events.size == 0:
                log.warning("%s: no events; left out of the events store", path)
                empty.append(record)
                continue
            if decrease := first_decrease(events["t"]):
                index, steps = decrease
                before, after = int(events["t"][index - 1]), int(events["t"][index])
                log.warning("%s: timestamp decreases at event %d (%d after %d; %d decreases in all); "
                            "sorted by time", path, index, after, before, steps)
                resorted.append({**record, "decreases": steps, "first": {"event": index, "t": after,
                                                                         "previous_t": before}})
                events = events[np.argsort(events["t"], kind="stable")]
            yield str(splits[i]), label, sample_id, events

    params = {"dataset": name, "val_fraction": fraction, "split_seed": seed}
    counts = write_events_store(
        out_path, stream(), sensor_size=spec.sensor_size, class_names=spec.class_names,
        source=manifest["source"], params=params,
        inputs={f["name"]: f["sha256"] for f in manifest["files"]},
        attributes_after=lambda: {"empty_recordings": json.dumps(empty), "resorted_recordings": json.dumps(resorted)},
    )
    log.info("wrote %s: %s (%d empty recordings left out, %d re-sorted)", out_path, counts, len(empty), len(resorted))
    return counts
