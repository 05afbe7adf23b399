# Clamp: `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]' -e examples/clamp-example-plugin
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/clamp demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q -n auto --dist worksteal

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_exposure.py

clean:
	rm -rf $(VENV) .demo.db build dist src/*.egg-info
