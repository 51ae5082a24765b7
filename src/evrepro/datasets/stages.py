"""The data stages of the workflow: fetch (download, generate or point at a local copy), extract, events."""

import json
import logging
from itertools import chain
from pathlib import Path

import numpy as np
from tqdm import tqdm

from evrepro.datasets.conversion import check_sensor, read_recordings
from evrepro.datasets.download import download
from evrepro.datasets.generators import GENERATORS
from evrepro.datasets.extract import check_archive, extract_all
from evrepro.datasets.layouts import list_samples
from evrepro.datasets.local_copy import LOCAL_COPY_NOTE, find_local_copy, listing_digest
from evrepro.datasets.recordings_store import write_recordings_store
from evrepro.datasets.registry import DatasetSpec, get_dataset
from evrepro.datasets.splits import assign_splits, manifest_hash, split_manifest
from evrepro.datasets.store import write_events_store
from evrepro.errors import EvreproError
from evrepro.events.annotations import read_annotation
from evrepro.events.array import check_field_range
from evrepro.events.boxes import read_boxes
from evrepro.events.prophesee import read_prophesee_dat_blocks
from evrepro.storage.fileio import atomic_output, sha256_file
from evrepro.storage.stored_names import stored

log = logging.getLogger(__name__)
SPLIT_ORDER = {"train": 0, "val": 1, "test": 2}


class DatasetUnavailable(EvreproError):
    """A dataset that cannot be downloaded and has no local copy configured."""


def fetch(name: str, dataset_config: dict, manifest_path: str | Path, progress: bool = True) -> Path:
    """Obtain the archives of ``name`` and write ``manifest_path`` last, listing what was obtained.

    An embedded dataset is generated beside the manifest; ``root`` in the dataset's config points at a
    local copy (archives, checked and used in place, or an extracted folder); otherwise each archive is
    downloaded. A dataset that needs a registration fails here, at run time, saying what to do.
    """
    spec, manifest_path = get_dataset(name), Path(manifest_path)
    out_dir = manifest_path.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    extracted = None
    if spec.generator:
        generator = GENERATORS[spec.generator]
        params = generator.params(dataset_config.get("generator", {}))
        target = out_dir / generator.archive
        with atomic_output(target) as temporary:
            count = generator.write_archive(temporary, params, progress)
        log.info("generated %d recordings into %s", count, target)
        files = [target]
        source = {"generator": generator.module, "params": stored(params)}
    elif dataset_config.get("root"):
        files, extracted = find_local_copy(spec, Path(dataset_config["root"]))
        source = {"root": str(Path(dataset_config["root"]).resolve())}
        if extracted is not None:
            source["listing_sha256"] = listing_digest(extracted)
    elif spec.manual:
        raise DatasetUnavailable(f"{name}: {spec.manual}")
    else:
        urls = tuple(dataset_config.get("urls") or ()) or None
        files = [download(archive, out_dir, urls=urls, progress=progress) for archive in spec.archives]
        source = {"archives": [{"filename": a.filename, "urls": list(urls or a.urls), "sha256": a.sha256,
                                "md5": a.md5, "verified": a.verified} for a in spec.archives]}
    manifest = {
        "dataset": name,
        "files": [_file_entry(f, out_dir) for f in files],
        "source": source,
    }
    if extracted is not None:
        manifest["extracted"] = str(extracted)
    with atomic_output(manifest_path) as temporary:
        temporary.write_text(json.dumps(manifest, indent=2))
    return manifest_path


def _file_entry(path: Path, out_dir: Path) -> dict:
    entry = {"name": path.name, "size": path.stat().st_size, "sha256": sha256_file(path)}
    if path.parent.resolve() != out_dir.resolve():  # a local copy, used where it is
        entry["path"] = str(path.resolve())
    return entry


def _archive_paths(manifest_path: Path, manifest: dict) -> list[Path]:
    return [Path(entry.get("path") or manifest_path.parent / entry["name"]) for entry in manifest["files"]]


def extract(manifest_path: str | Path, raw_dir: str | Path, progress: bool = True) -> None:
    """Unpack every archive listed in a fetch manifest into ``raw_dir``, each checked against the manifest first.

    A manifest naming an extracted local copy unpacks nothing: ``raw_dir`` gets a note saying where it is.
    """
    manifest_path = Path(manifest_path)
    manifest = json.loads(manifest_path.read_text())
    if "extracted" in manifest:
        with atomic_output(raw_dir) as temporary:
            temporary.mkdir(parents=True)
            (temporary / LOCAL_COPY_NOTE).write_text(json.dumps({"extracted": manifest["extracted"]}) + "\n")
        return
    archives = _archive_paths(manifest_path, manifest)
    for archive, entry in zip(archives, manifest["files"]):
        check_archive(archive, entry["size"], entry["sha256"], manifest_path)
    extract_all(archives, raw_dir, progress)


def events_params(spec: DatasetSpec, dataset_config: dict) -> dict:
    """What decides a dataset's events store besides its input files."""
    derived_test = "test" not in spec.official_splits
    params = {"dataset": spec.name, "val_fraction": dataset_config["val_fraction"],
              "split_seed": dataset_config["split_seed"],
              "test_fraction": dataset_config["test_fraction"] if derived_test else None,
              "orientation": list(spec.orientation), "class_names": list(spec.class_names)}
    if "scale" in dataset_config:
        params["scale"] = dataset_config["scale"]
    return params


def build_events(name: str, dataset_config: dict, manifest_path: str | Path, raw_dir: str | Path,
                 out_path: str | Path, splits_path: str | Path, workers: int = 1,
                 progress: bool = True) -> dict[str, int]:
    """Read every sample of the extracted dataset into the events store and write its split manifest.

    Splits are the release's where it has them, otherwise derived from sample ids (``datasets.splits``).
    Bad recordings follow one policy each (README, "Bad input"): coordinates outside the sensor stop
    the build naming file, event and value; a recording whose timestamps decrease is sorted by time
    (stable) with a warning; an empty recording is left out with a warning. Both are listed in the
    store's ``resorted_recordings`` and ``empty_recordings`` attributes. The orientation fixes of the
    dataset are applied to every split and recorded in the store.
    """
    spec = get_dataset(name)
    manifest = json.loads(Path(manifest_path).read_text())
    source_root = Path(manifest.get("extracted") or raw_dir)
    samples = list_samples(source_root, spec, dataset_config)
    sample_ids = [sample.sample_id for sample in samples]
    params = events_params(spec, dataset_config)
    splits = assign_splits([sample.split for sample in samples], sample_ids,
                           np.array([sample.label for sample in samples]), params["val_fraction"],
                           params["test_fraction"] or 0.0, params["split_seed"])
    policy = {"official": list(spec.official_splits), **{k: params[k] for k in
                                                          ("val_fraction", "test_fraction", "split_seed")}}
    split_record = split_manifest(name, splits, sample_ids, policy)
    with atomic_output(splits_path) as temporary:
        temporary.write_text(json.dumps(split_record, indent=1) + "\n")
    order = sorted(range(len(samples)), key=lambda i: (SPLIT_ORDER[splits[i]], i))
    empty, resorted = [], []
    store_facts = dict(sensor_size=spec.sensor_size, class_names=spec.class_names, source=manifest["source"],
                       params=params, inputs={f["name"]: f["sha256"] for f in manifest["files"]}
                       | _extracted_input(manifest),
                       attributes_after=lambda: {"empty_recordings": json.dumps(empty),
                                                 "resorted_recordings": json.dumps(resorted),
                                                 "orientation": json.dumps(list(spec.orientation)),
                                                 "split_manifest_sha256": manifest_hash(split_record)})
    if spec.task == "detection":
        counts = write_recordings_store(out_path, _detection_recordings(spec, samples, order, splits, source_root,
                                                                        empty, progress), **store_facts)
        log.info("wrote %s: %s recordings (%d empty left out)", out_path, counts, len(empty))
        return counts

    def stream():
        recordings = read_recordings([samples[i].path for i in order], spec.sensor_size, spec.orientation, workers)
        for i, recording in zip(order, tqdm(recordings, total=len(order), desc=f"{name}: events",
                                            disable=not progress, mininterval=2)):
            sample = samples[i]
            record = {"split": str(splits[i]), "sample_id": sample.sample_id,
                      "file": str(sample.path.relative_to(source_root))}
            if recording.empty:
                empty.append(record)
                continue
            if recording.decrease:
                resorted.append({**record, **recording.decrease})
            box = None if sample.annotation is None else read_annotation(sample.annotation).xywh
            yield str(splits[i]), sample.label, sample.sample_id, recording.events, box

    counts = write_events_store(out_path, stream(), **store_facts)
    log.info("wrote %s: %s (%d empty recordings left out, %d re-sorted)", out_path, counts, len(empty), len(resorted))
    return counts


def _detection_recordings(spec: DatasetSpec, samples, order, splits, source_root: Path, empty: list, progress: bool):
    """(split, recording id, event blocks, boxes, where) of every recording of a detection dataset, streamed in
    blocks; an empty recording is left out and listed in ``empty``."""
    for i in tqdm(order, desc=f"{spec.name}: recordings", disable=not progress, mininterval=2):
        sample = samples[i]
        blocks = read_prophesee_dat_blocks(sample.path)
        first = next(blocks, None)
        if first is None:
            log.warning("%s: no events; left out of the store", sample.path)
            empty.append({"split": str(splits[i]), "sample_id": sample.sample_id,
                          "file": str(sample.path.relative_to(source_root))})
            continue
        boxes_path = sample.path.with_name(sample.sample_id + "_bbox.npy")
        boxes = read_boxes(boxes_path)
        check_field_range(boxes, "class_id", 0, len(spec.class_names) - 1, str(boxes_path))
        yield (str(splits[i]), sample.sample_id, _checked_blocks(chain([first], blocks), spec.sensor_size, sample.path),
               boxes, str(sample.path))


def _checked_blocks(blocks, sensor_size: tuple[int, int], path: Path):
    first = 0
    for block in blocks:
        yield check_sensor(block, sensor_size, path, first)
        first += block.size


def _extracted_input(manifest: dict) -> dict:
    """An extracted local copy's input: the digest of its listing."""
    return {"extracted": manifest["source"]["listing_sha256"]} if "extracted" in manifest else {}
