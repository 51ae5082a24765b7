"""Fault injection on the real workflow, second chain: more epochs, a preprocessing edit (a new cache beside the
old one), a run added on an existing cache and removed again. One copy of the shared trained project carries
through the tests in order, as in test_faults.py (which runs beside this file on another worker).
"""

import copy
import json

import pandas as pd
import pytest
from faults import TABLES_AND_FIGURES, aegnn_jobs, digest, digests, project_copy
from project import check_every_output_opens

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def project(trained_project, tmp_path_factory):
    return project_copy(trained_project, tmp_path_factory.mktemp("faults-caches"))


def test_more_epochs_extend_a_training_from_its_checkpoint(project):
    before = pd.read_csv(project.seed_dir("a", 0) / "history.csv")
    planned = project.apply(lambda c: c["runs"]["a"]["training"].update(epochs=3))
    assert planned == aegnn_jobs("a", 0, 1) | TABLES_AND_FIGURES
    project.run()
    after = pd.read_csv(project.seed_dir("a", 0) / "history.csv")
    assert len(after) == 3
    columns = [c for c in before.columns if c != "seconds"]
    pd.testing.assert_frame_equal(after[columns].iloc[:2], before[columns])  # resumed, not retrained
    assert not (project.seed_dir("a", 0) / "superseded").exists()
    check_every_output_opens(project.root)


def test_changing_a_preprocessing_value_builds_a_new_cache_and_keeps_the_old_one(project):
    [old_cache] = (project.root / "results/graphs/digits").glob("*.h5")
    old_digest = digest(old_cache)
    planned = project.apply(lambda c: c["runs"]["a"]["preprocessing"].update(events_per_sample=150))
    [graphs] = [job for job in planned if job.startswith("graphs[")]
    [drawn] = [job for job in planned if job.startswith("graph_figure[")]  # the new cache's graph drawn
    assert drawn.removeprefix("graph_figure") == graphs.removeprefix("graphs")
    assert planned == {graphs, drawn} | aegnn_jobs("a", 0, 1) | TABLES_AND_FIGURES
    project.run()
    assert digest(old_cache) == old_digest
    assert len(list((project.root / "results/graphs/digits").glob("*.h5"))) == 2
    note = json.loads(next((project.seed_dir("a", 0) / "superseded").iterdir()).joinpath("superseded.json")
                      .read_text())
    assert any(change.startswith("cache.params.n_samples: 200 -> 150") for change in note["because"])
    check_every_output_opens(project.root)


def test_adding_a_run_on_an_existing_cache_runs_only_its_jobs(project):
    planned = project.apply(lambda c: c["runs"].update(b={**copy.deepcopy(c["runs"]["a"]), "seeds": [4]}))
    assert planned == aegnn_jobs("b", 4) | TABLES_AND_FIGURES
    project.run()
    check_every_output_opens(project.root)


def test_removing_a_run_reruns_only_the_tables_and_keeps_its_results(project):
    kept = digests(project.seed_dir("b", 4))
    planned = project.apply(lambda c: c["runs"].pop("b"))
    assert planned == TABLES_AND_FIGURES
    project.run()
    assert digests(project.seed_dir("b", 4)) == kept
    assert "b" not in set(pd.read_csv(project.root / "results/tables/runs.csv")["run"])
    check_every_output_opens(project.root)
