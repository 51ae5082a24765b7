# make run  : create .venv if missing, install evrepro, run the pipeline on config/config.yaml, build the report
# make test : create .venv if missing, install evrepro, run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.evrepro-installed
CORES ?= 2
# test workers: one more than the cores, as the real Snakemake and SLURM runs spend part of their time waiting
TEST_WORKERS ?= 3

.PHONY: run test install lint clean-results

run: $(INSTALLED)
	@# a run killed with SIGKILL leaves Snakemake's lock behind; a new `make run` takes over
	$(BIN)/snakemake --unlock --cores 1 --quiet all >/dev/null 2>&1 || true
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --report results/report.html

# each test file on one worker (a file's tests share its fixtures), handed out in the order tests/conftest.py sorts
# them (long files first; xdist would otherwise order files by their number of tests); the suite shares one trained
# project
test: $(INSTALLED)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15

install: $(INSTALLED)

# torch first and pinned: an unpinned torch would pull several GB of CUDA packages
$(INSTALLED): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[all,dev]"
	touch $(INSTALLED)

lint: $(INSTALLED)
	$(BIN)/snakemake --lint

clean-results:
	rm -rf results resources logs benchmarks .snakemake
