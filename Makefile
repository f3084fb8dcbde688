# Two commands for a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000

.PHONY: install run test lint unit bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/careledger run --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

unit: install
	$(BIN)/python -m pytest

test: lint unit

bench: install
	$(BIN)/python bench/http_register.py
	$(BIN)/python bench/rebuild.py
	$(BIN)/python bench/store_append.py
	$(BIN)/python bench/booking.py
	$(BIN)/python bench/metrics_query.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
