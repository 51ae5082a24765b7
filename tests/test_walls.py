"""The walls (docs/architecture.md): no process imports both torch and tensorflow, core modules import neither, and
planning the workflow imports no numerical library beyond numpy."""

import ast
import pkgutil
import subprocess
import sys

import pytest
from conftest import REPO

import evrepro

MODULES = sorted(name for _, name, _ in pkgutil.walk_packages(evrepro.__path__, "evrepro.")
                 if name != "evrepro.__main__")
FAMILIES = {"ecn": "tensorflow", "aegnn": "torch"}


def group_of(module: str) -> str:
    """``ecn``, ``aegnn`` or ``core``: which heavy framework a module may load."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FAMILIES else "core"


def loaded_frameworks(modules: list[str]) -> set[str]:
    """The heavy frameworks that importing ``modules`` in a fresh interpreter loads."""
    code = (f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
            "print(' '.join(f for f in ('torch', 'tensorflow') if f in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return set(result.stdout.split())


@pytest.mark.parametrize("group", ["core", "ecn", "aegnn"])
def test_each_group_of_modules_loads_only_its_own_framework(group):
    modules = [m for m in MODULES if group_of(m) == group]
    assert modules
    allowed = {FAMILIES[group]} if group in FAMILIES else set()
    assert loaded_frameworks(modules) == allowed


def imported_evrepro_modules(path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("evrepro"):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names if alias.name.startswith("evrepro")}
    return names


@pytest.mark.parametrize("script", sorted((REPO / "scripts").glob("*.py")), ids=lambda p: p.name)
def test_every_rule_script_stays_within_one_group(script):
    """A rule's process imports its script's modules: all from one family, or from the core only."""
    groups = {group_of(module) for module in imported_evrepro_modules(script)} - {"core"}
    assert len(groups) <= 1, f"{script.name} imports from {groups}"
    assert not {"torch", "tensorflow", "keras"} & {
        node.names[0].name.split(".")[0] for node in ast.walk(ast.parse(script.read_text()))
        if isinstance(node, ast.Import)}


def test_planning_the_workflow_loads_no_numba_scipy_or_framework(tmp_path):
    """`snakemake -n` parses the Snakefile, which names caches from parameter modules only."""
    from project import TINY_AEGNN, TINY_ECN, make_project, tiny_config

    root = make_project(tmp_path, tiny_config(runs={"a": TINY_AEGNN, "e": TINY_ECN}))
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "snakemake", "-n", "--cores", "1"], cwd=root,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    loaded = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "evrepro.caches" in loaded and "snakemake" in loaded  # the check sees the workflow's imports
    assert not loaded & {"numba", "scipy", "torch", "tensorflow", "keras", "h5py"}
