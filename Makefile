# Two commands do everything on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/baseline.toml
HOST ?= 127.0.0.1
PORT ?= 8765

.PHONY: run test test-fast check-docs app lint bench bench-load readme clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (or set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-app: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[app]"
	@touch $@ $(VENV)/.installed

# the tests drive the workbench in a browser, so they install its extra too
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[app,test]"
	@touch $@ $(VENV)/.installed $(VENV)/.installed-app

run: $(VENV)/.installed
	$(BIN)/lithium-sim run $(SCENARIO)

# the workbench in a browser: http://$(HOST):$(PORT)/ (docs/workbench.md)
app: $(VENV)/.installed-app
	$(BIN)/lithium-sim app --host $(HOST) --port $(PORT)

# pytest exits 5 when it collects no tests: report it as the failure it is. The test files are spread over
# TEST_WORKERS processes (pytest-xdist), each file's tests in one process, so its fixtures are built once and its
# steps keep their order (xdist's finer `--dist loadgroup` does not group tests under pytest 9); the longest files
# go first (tests/conftest.py), so the short ones even out the end. The documents' checks are `make check-docs`.
TEST_WORKERS ?= 2
test: $(VENV)/.installed-test
	@$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not docs"; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$status

# the documents against the code: the README's generated figures rerun, both notebooks run top to bottom (CI runs
# it after `make test`; about a minute)
check-docs: $(VENV)/.installed-test
	@$(BIN)/python -m pytest -q -n $(TEST_WORKERS) -m docs; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make check-docs: pytest collected no tests" >&2; exit 1; fi; exit $$status

# the quick loop while working: engine, market, accounting, chain, policy, inputs and tables; no end-to-end runs
test-fast: $(VENV)/.installed-test
	@$(BIN)/python -m pytest -q -n $(TEST_WORKERS) -m "not slow and not docs"; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test-fast: pytest collected no tests" >&2; exit 1; fi; exit $$status

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# the workbench's figures are measured in chromium (Playwright, from the test extra)
bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_model.py
	$(BIN)/python benchmarks/bench_reference.py
	$(BIN)/python benchmarks/bench_workbench.py
	$(BIN)/python benchmarks/bench_explore.py
	$(BIN)/python benchmarks/bench_cli.py

# the workbench under load: 30 concurrent clients for 60 s, then 150 s for the sessions to be freed (about 5 minutes)
bench-load: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_load.py --clients 30 --seconds 60

# rerun the documented runs and rewrite the README's generated figures (docs/readme_tables.py; tests/test_readme.py
# fails when they drift from what the code gives)
readme: $(VENV)/.installed
	$(BIN)/python docs/readme_tables.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
