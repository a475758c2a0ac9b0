# The two set-up commands of the README:  make demo  |  make test
# Both create .venv (Python 3.11) on first use and install the pinned environment into it.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
export OMP_NUM_THREADS ?= 1
export HF_HUB_OFFLINE ?= 1

.PHONY: setup demo test lint dryrun clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	$(BIN)/python -m pip check
	touch $@

demo: setup
	$(BIN)/snakemake --profile profiles/local --cores $(CORES)

dryrun: setup
	$(BIN)/snakemake --profile profiles/local -n

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check workflow_scripts tests rules benchmarks
	$(BIN)/ruff format --check workflow_scripts tests rules benchmarks
	$(BIN)/snakemake --lint

clean:
	rm -rf results logs .snakemake
