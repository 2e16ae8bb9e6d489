# Two commands for a new user: `make run` (the app, sample project loaded) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch==2.13.0's CPU build lies in /opt/wheels on this platform; PyPI's would be a CUDA build.
export PIP_FIND_LINKS ?= /opt/wheels

.PHONY: run test test-fast lint setup system-deps bench

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	touch $@

setup: $(BIN)/.installed

run: setup
	$(BIN)/python -m strategy_app serve

system-deps:
	bash .ci/system-deps

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test-fast: setup
	$(BIN)/python -m pytest -q

test: setup system-deps lint
	$(BIN)/python -m pytest -q -m ''

bench: setup
	$(BIN)/pip install -q -r bench/requirements.txt
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done
