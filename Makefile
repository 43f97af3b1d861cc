# Bridge: `make run` serves the app with demo data; `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# The first interpreter >= 3.12 found: on PATH, then under pyenv.
PYTHON ?= $(shell for p in python3.13 python3.12 python3 $$(ls -d $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
	if $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then command -v $$p || echo $$p; break; fi; done)
PYTEST_ARGS ?=

.PHONY: run test setup lint check-python clean

check-python:
	@if [ -z "$(PYTHON)" ]; then echo "Bridge needs Python 3.12 or newer; none was found." >&2; exit 1; fi

$(BIN)/python: | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-installed: requirements/base.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements/base.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev-installed: requirements/dev.lock $(VENV)/.run-installed
	$(BIN)/python -m pip install --quiet -r requirements/dev.lock
	touch $@

setup: $(VENV)/.run-installed
	$(BIN)/bridgecrm setup --demo

run: setup
	@echo
	@echo "Bridge is starting at http://127.0.0.1:8000"
	@if [ -f var/demo-sign-in.txt ]; then echo "Sign in with one of these (role, user name, password):"; head -n 4 var/demo-sign-in.txt; \
		echo "(all demo sign-ins: var/demo-sign-in.txt)"; fi
	@echo
	$(BIN)/bridgecrm serve

test: $(VENV)/.dev-installed
	BRIDGE_TESTING=1 $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check bridgecrm bench
	$(BIN)/ruff format --check bridgecrm bench
	$(BIN)/mypy bridgecrm
	$(BIN)/lint-imports
	BRIDGE_TESTING=1 $(BIN)/bridgecrm makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var/static
