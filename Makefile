# Two commands do all the set-up: `make run` and `make test` create .venv when it is
# missing and (re)install the project whenever pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCENARIO ?= scenarios/jingan_integrated.toml
PYTEST_ARGS ?=

.PHONY: run test test-nojit lint bench bench-quick bench-check bench-ci bench-policies bench-instances fingerprint clean

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

# The compiled code's readable reference: the model and optimizer tests with Numba's
# compiler off, so every kernel and the crew core run as the Python they are written in.
test-nojit: $(STAMP)
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/simulation tests/optimizer

lint: $(STAMP)
	$(BIN)/ruff check urbangrid grid optimizer simulation study calibration service hall benchmarks tests

# The full suite rewrites benchmarks/results.json and RESULTS.md, then the README's table
# from them (benchmarks/table.py; a test checks that the two agree).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.table

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks.run --quick

# Fails when a ratio in the quick suite regresses beyond its tolerance (benchmarks/run.py).
bench-check: $(STAMP)
	$(BIN)/python -m benchmarks.run --quick --check

# The gate .ci/run runs after the tests: the quick suite, only the ratios that are steady
# on a shared machine, each allowed to double (benchmarks/run.py, ci_baseline).
bench-ci: $(STAMP)
	$(BIN)/python -m benchmarks.run --ci --out results/bench-ci

# Dispatch policies at equal staffing on the three reference scenarios, 5 replications
# under common random numbers (about 25 minutes on 2 cores; `legacy`, which saturates the
# stressed scenario, is left out), published to benchmarks/POLICIES.md and .json (a plain
# run of benchmarks.policies writes to results/policies).
bench-policies: $(STAMP)
	$(BIN)/python -m benchmarks.policies scenarios/jingan_integrated.toml \
		scenarios/reference_stressed.toml scenarios/reference_surge.toml \
		--policy nearest --policy greedy --policy mcf --policy mcf_route --policy fair_mcf \
		--replications 10 --pair greedy:mcf --pair mcf_route:mcf --pair fair_mcf:mcf --publish

# The reference dispatch instances (benchmarks/instances) solved by every method and priced
# by urbangrid.optimizer.evaluate: writes benchmarks/INSTANCES.md and .json (about a minute;
# `python -m benchmarks.instances freeze` re-freezes the instances themselves).
bench-instances: $(STAMP)
	$(BIN)/python -m benchmarks.instances table

# Hashes of reference runs and optimizer records against benchmarks/fingerprints.json: a
# refactoring must leave them all as stored (benchmarks/fingerprint.py).
fingerprint: $(STAMP)
	$(BIN)/python -m benchmarks.fingerprint

clean:
	rm -rf $(VENV) results .pytest_cache
