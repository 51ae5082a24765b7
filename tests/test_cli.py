"""``python -m evrepro``: every stage of a run outside Snakemake, from a config file, in a fresh directory."""

import json
import subprocess
import sys

import yaml

from project import TINY_ECN, tiny_config


def evrepro(root, *args):
    return subprocess.run([sys.executable, "-m", "evrepro", *args], cwd=root, capture_output=True, text=True,
                          timeout=600)


def test_an_ecn_run_goes_from_generated_data_to_test_metrics_command_by_command(tmp_path):
    (tmp_path / "config").mkdir()
    config = tiny_config(max_images=30, runs={"small": {**TINY_ECN, "training": {"epochs": 1}}})
    (tmp_path / "config/config.yaml").write_text(yaml.safe_dump(config))
    for command in (["fetch", "digits"], ["extract", "digits"], ["events", "digits"], ["cache", "small"],
                    ["train", "small", "--seed", "2", "--threads", "1"]):
        result = evrepro(tmp_path, *command)
        assert result.returncode == 0, (command, result.stderr[-2000:])
    assert len(list((tmp_path / "results/streams/digits").glob("*.h5"))) == 1
    result = evrepro(tmp_path, "evaluate", "small", "--seed", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    printed = json.loads(result.stdout)
    assert printed == json.loads((tmp_path / "results/runs/small/seed-2/metrics.json").read_text())
    assert printed["family"] == "ecn" and printed["seed"] == 2

    refused = evrepro(tmp_path, "async", "small")
    assert refused.returncode != 0
    assert "asynchronous inference is for the families aegnn, aegnn_detection" in refused.stderr
    unknown = evrepro(tmp_path, "train", "smal")
    assert unknown.returncode != 0 and "no run 'smal' under runs (runs: small)" in unknown.stderr
