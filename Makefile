# thermocad: `make demo` and `make test` set everything up in .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test check lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The tested torch first (pip takes it from local wheels where present), then the rest.
	$(BIN)/python -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install -q -e '.[all,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/thermocad demo --out demo --force

# Tests in parallel, one worker per core (at most 4; pytest-xdist): 5 min on 2 cores, 9 serially.
XDIST := -n auto --maxprocesses 4

test: $(STAMP)
	$(BIN)/python -m pytest -q $(XDIST)

check: $(STAMP)
	$(BIN)/ruff check src tests benchmarks experiments
	$(BIN)/ruff format --check src tests benchmarks experiments
	$(BIN)/python -m pytest -q $(XDIST) -m "not slow and not browser and not real"

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks experiments
	$(BIN)/ruff check --fix src tests benchmarks experiments

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_reader.py

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache
