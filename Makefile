# One command each for what a change must pass, and for the long runs. Each calls the project's virtual
# environment (.venv: the README's second command, or `make install`).
#
# Make rather than nox: make is already on every machine this project runs on and needs nothing installed or
# downloaded, so these commands work offline; nox would be one more package, and builds virtual environments of
# its own (a download per session) unless told to reuse this one.

VENV ?= .venv
PYTHON := $(VENV)/bin/python
PATHS := src tests bench
FUZZ_EXAMPLES ?= 5000

.DEFAULT_GOAL := help
.PHONY: help install lint format types test fuzz bench check

help:  ## list the commands
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

install:  ## create .venv with every extra (the README's second command, without running the tests)
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -q -e '.[server,mlflow,dev]'

lint:  ## ruff: lint rules, then formatting (checked only; `make format` fixes)
	$(VENV)/bin/ruff check $(PATHS)
	$(VENV)/bin/ruff format --check $(PATHS)

format:  ## ruff: apply the safe fixes and format
	$(VENV)/bin/ruff check --fix $(PATHS)
	$(VENV)/bin/ruff format $(PATHS)

types:  ## mypy, strict, over src, tests and bench (the files pyproject.toml names)
	$(VENV)/bin/mypy

test:  ## the whole suite, as the README and CI run it (lint and types included); PYTEST_ARGS narrows it
	$(PYTHON) -m pytest $(PYTEST_ARGS)

fuzz:  ## long API fuzz: ~FUZZ_EXAMPLES requests per backend, random seed (printed; FUZZ_SEED=N replays it)
	$(PYTHON) -m pytest tests/fuzz -n 0 -s --fuzz-examples $(FUZZ_EXAMPLES) $(if $(FUZZ_SEED),--fuzz-seed $(FUZZ_SEED))

bench:  ## every benchmark (needs wrk; PostgreSQL + Redis for some parts; the gateway's needs [mlflow]): figures only
	$(PYTHON) bench/validation.py
	$(PYTHON) bench/usage_ingest.py
	$(PYTHON) bench/gateway.py

check: lint types test  ## lint, types and the suite, in that order
