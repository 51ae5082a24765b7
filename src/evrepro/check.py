"""``python -m evrepro check``: every file the workflow wrote under ``results/``, and every archive against its fetch
manifest, verified without changing anything; ``--repair`` sets the damaged ones aside so that the workflow builds
them again.

Stores are read through (``storage.verify``, deep), checkpoints loaded as tensors and plain data only, JSON, YAML and
CSV parsed, PNG and PDF checked whole, archives hashed against their manifest. Superseded trainings, files already
set aside and temporaries are left out. An archive that fails is set aside with its manifest, so that fetching runs
again. Snakemake builds a missing file again only when a job needs it, so the summary names the ``snakemake``
command that builds the set-aside files (a manifest stands for its archive).
"""

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import yaml

from evrepro import layout
from evrepro.errors import EvreproError
from evrepro.storage.verify import set_aside, store_problems

PNG_MAGIC, PNG_END = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"


def _checkpoint_problem(path: Path) -> str | None:
    if path.suffix == ".pt":
        from evrepro.aegnn.checkpoint import load_checkpoint as load
    else:
        from evrepro.ecn.checkpoint import load_arrays as load
    try:
        load(path)
    except EvreproError as error:
        return str(error).removeprefix(f"{path}: ")
    return None


def _arrays_problem(path: Path) -> str | None:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            for name in data.files:
                data[name]
    except (ValueError, OSError, EOFError, KeyError) as error:
        return f"does not load as arrays ({' '.join(str(error).split())})"
    return None


def _text_problem(path: Path) -> str | None:
    try:
        text = path.read_text()
        if path.suffix == ".json":
            json.loads(text)
        elif path.suffix == ".yaml":
            yaml.safe_load(text)
        else:
            widths = {len(row) for row in csv.reader(text.splitlines())}
            if len(widths) > 1:
                return f"rows of {sorted(widths)} columns"
    except (ValueError, yaml.YAMLError, csv.Error) as error:
        return f"does not parse ({' '.join(str(error).split())})"
    return None


def _image_problem(path: Path) -> str | None:
    data = path.read_bytes()
    whole = data.startswith(PNG_MAGIC) and data.endswith(PNG_END) if path.suffix == ".png" else \
        data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]
    return None if whole else "not a whole file (cut short or overwritten)"


def file_problem(path: Path) -> str | None:
    """What is wrong with one output file, or None (also for a kind of file it does not check)."""
    if path.suffix == ".h5":
        return "; ".join(store_problems(path, deep=True)) or None
    if path.suffix == ".pt" or (path.suffix == ".npz" and path.parent.name == "checkpoints"):
        return _checkpoint_problem(path)
    if path.suffix == ".npz":
        return _arrays_problem(path)
    if path.suffix in (".json", ".yaml", ".csv"):
        return _text_problem(path)
    if path.suffix in (".png", ".pdf"):
        return _image_problem(path)
    return None


def _outputs(results: Path) -> Iterator[Path]:
    for path in sorted(results.rglob("*")):
        if path.is_file() and "superseded" not in path.parts and ".damaged-" not in path.name \
                and ".tmp-" not in path.name:
            yield path


def _archive_problems(archives: Path) -> Iterator[tuple[list[Path], str]]:
    from evrepro.datasets.extract import ArchiveError, check_archive

    for manifest_path in sorted(archives.glob(f"*/{Path(layout.MANIFEST).name}")):
        manifest = json.loads(manifest_path.read_text())
        for entry in manifest.get("files", []):
            archive = Path(entry.get("path") or manifest_path.parent / entry["name"])
            try:
                check_archive(archive, entry["size"], entry["sha256"], manifest_path)
            except ArchiveError as error:
                yield [archive, manifest_path], str(error).removeprefix(f"{archive}: ")


def check(root: str | Path = ".", repair: bool = False) -> int:
    """Print one line per damaged file under ``root``'s results/ and archives, and a summary; with ``repair``, set
    each aside. Returns the number of damaged files found."""
    root = Path(root)
    found: list[tuple[list[Path], str]] = []
    checked = 0
    for path in _outputs(root / "results"):
        checked += 1
        problem = file_problem(path)
        if problem:
            found.append(([path], problem))
    archives = root / Path(layout.ARCHIVES).parent
    if archives.is_dir():
        found += list(_archive_problems(archives))
    for paths, problem in found:
        line = f"{paths[0]}: {problem}"
        if repair:
            line += "; set aside as " + ", ".join(set_aside(path).name for path in paths if path.exists())
        print(line)
    # Snakemake builds a missing file again only when a job needs it: name them (a manifest for an archive)
    rebuild = " ".join(str(paths[-1].relative_to(root)) if paths[-1].is_relative_to(root) else str(paths[-1])
                       for paths, _ in found)
    action = f"set aside: run `snakemake {rebuild}`, then `snakemake`" if repair else \
        "run with --repair to set them aside"
    print(f"checked {checked} files under {root / 'results'} and the archives' manifests: "
          + (f"{len(found)} damaged, {action}" if found else "nothing damaged"))
    return len(found)
