# The two commands of the README. Everything is installed into .venv, so a fresh
# machine needs only python3 (and, for the tests, root for Debian packages).
VENV ?= .venv
PYTHON ?= python3
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: run test lint bench

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip

run: $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -e ".[lab]"
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks $(ALLOW_ROOT)

test:
	scripts/test.sh

lint: $(VENV)/bin/python
	$(VENV)/bin/ruff check .

bench: $(VENV)/bin/python
	$(VENV)/bin/python benchmarks/bench_engine_overhead.py
