# Two commands for a new user: `make run` (the app, sample project loaded) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch==2.13.0's CPU build lies in /opt/wheels on this platform; PyPI's would be a CUDA build.
export PIP_FIND_LINKS ?= /opt/wheels

# The runtime (requirements.txt) for `make run`; the extras and the test tools for `make test`.
DEV_REQUIREMENTS := requirements-dev.txt requirements-postgres.txt requirements-tracking.txt requirements-hf.txt

.PHONY: run test test-fast lint setup setup-dev system-deps bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BIN)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed $(DEV_REQUIREMENTS)
	$(BIN)/pip install -q $(addprefix -r ,$(DEV_REQUIREMENTS))
	touch $@

setup: $(BIN)/.installed

setup-dev: $(BIN)/.installed-dev

run: setup
	$(BIN)/python -m strategy_app serve

system-deps:
	bash .ci/system-deps

lint: setup-dev
	@echo "== lint: ruff, ruff format, import contracts, mypy"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test-fast: setup-dev
	$(BIN)/python -m pytest -q

test: setup-dev system-deps lint
	@echo "== every test: unit, app pages (AppTest), slow (real training, faults, the wheel) and"
	@echo "   browser (Chromium at 1400 and 1024 px); the slowest lines print at the end"
	$(BIN)/python -m pytest -q -m '' --durations=15
	@echo "== the doctests of diagnostics/"
	$(BIN)/python -m pytest -q --doctest-modules diagnostics

bench: setup
	$(BIN)/pip install -q -r bench/requirements.txt
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done
