# Two commands do all the set-up: `make run` and `make test` create .venv when it is
# missing and (re)install the project whenever pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCENARIO ?= scenarios/jingan_integrated.toml
PYTEST_ARGS ?=

.PHONY: run test lint bench bench-quick bench-check bench-ci bench-policies clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,routing,dask,service]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/urbangrid simulate $(SCENARIO) --out results/jingan_integrated

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check urbangrid grid optimizer simulation study calibration service benchmarks tests

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks.run --quick

# Fails when a ratio in the quick suite regresses beyond its tolerance (benchmarks/run.py).
bench-check: $(STAMP)
	$(BIN)/python -m benchmarks.run --quick --check

# The gate .ci/run runs after the tests: the quick suite, only the ratios that are steady
# on a shared machine, each allowed to double (benchmarks/run.py, ci_baseline).
bench-ci: $(STAMP)
	$(BIN)/python -m benchmarks.run --ci --out results/bench-ci

# Dispatch policies at equal staffing, 10 replications under common random numbers.
bench-policies: $(STAMP)
	$(BIN)/python -m benchmarks.policies --replications 10

clean:
	rm -rf $(VENV) results .pytest_cache
