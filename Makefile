# coopgraph: `make test` installs what the tests need into .venv and runs them.
# Override the interpreter with `make PYTHON=python3.12 test`.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUNTIME_STAMP := $(VENV)/.runtime
NODE_STAMP := node_modules/.package-lock.json

.PHONY: install test check lint format clean serve

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "coopgraph needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lint,bench]'
	@touch $@

# What `make serve` needs: the package and its runtime dependencies, no test or lint tools.
$(RUNTIME_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "coopgraph needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

install: $(STAMP)
	./scripts/install-system-packages npm dot
	$(MAKE) $(NODE_STAMP)

serve: $(RUNTIME_STAMP)
	./scripts/install-system-packages npm dot
	$(MAKE) $(NODE_STAMP)
	@echo "the coopgraph command is $(abspath $(BIN))/coopgraph"
	$(BIN)/coopgraph serve

test: install
	./scripts/install-system-packages chromium java javac owlapi
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/coopgraph format --check
	$(BIN)/coopgraph check
	$(BIN)/coopgraph owlapi
	$(BIN)/python -m pytest

# The quick loop: the linters and the tests not marked slow (no server, browser or Java,
# nothing that takes seconds), spread over the cores (at most 4 processes).
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -m "not slow" --numprocesses=auto --maxprocesses=4

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Everything in its canonical form: the Python code (ruff) and the Turtle files.
format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/coopgraph format

clean:
	rm -rf $(VENV) node_modules build dist src/*.egg-info .pytest_cache .ruff_cache
