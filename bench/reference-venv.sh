#!/usr/bin/env bash
# Build .venv-reference: evrepro beside the compiled PyG operators AEGNN used (torch-cluster 1.6.3,
# torch-spline-conv 1.2.2, with torch-geometric 2.7.0), for the side-by-side benchmarks bench_aegnn.py and
# bench_radius.py. PyPI has no wheels for the two extensions: they compile from source (~15–20 min on 2 cores;
# pip caches the wheels afterwards). Benchmarks only: the pipeline and the tests never need them.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-reference
test -x $VENV/bin/python || python3 -m venv $VENV
$VENV/bin/python -m pip install --quiet --upgrade pip
$VENV/bin/python -m pip install --quiet torch==2.13.0   # first and pinned: an unpinned torch pulls CUDA builds
grep -v '^torch-geometric==' constraints.txt > $VENV/constraints.txt
$VENV/bin/python -m pip install --quiet -c $VENV/constraints.txt torch-geometric==2.7.0 setuptools wheel
$VENV/bin/python -m pip install --quiet -c $VENV/constraints.txt -e ".[data,aegnn]"
$VENV/bin/python -m pip install --no-build-isolation torch-cluster==1.6.3 torch-spline-conv==1.2.2
echo "then: $VENV/bin/python bench/bench_aegnn.py; $VENV/bin/python bench/bench_radius.py"
