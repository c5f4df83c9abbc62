# The two commands of the README are `make demo` and `make test`; both start from nothing.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QUALITY_LEADS ?= 100000
# Tests run in parallel, one worker per core (at most 4): a test's time is mostly dbt's own
# Python, on one core, so a second worker uses the core the first leaves idle.
TEST_WORKERS ?= auto
TEST_MAX_WORKERS ?= 4
export DBT_PROFILES_DIR ?= $(CURDIR)

.PHONY: help setup demo test test-fast lint bench bench-quick quality report db-start db-stop db-env clean

# `make help` prints each target's `## ` text as it reads in a shell: `$$` there is `$`.
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/\$$\$$/$$/g' \
		| awk -F ':.*## ' '{ printf "make %-12s %s\n", $$1, $$2 }'

$(STAMP): pyproject.toml requirements.lock
	@echo "==> creating $(VENV) and installing the pinned packages (about a minute)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --progress-bar on --disable-pip-version-check -q --upgrade pip
	@$(BIN)/python -m pip install --progress-bar on --disable-pip-version-check \
		-c requirements.lock -e '.[dev]'
	@touch $(STAMP)

profiles.yml: profiles.yml.example
	@test -f profiles.yml || cp profiles.yml.example profiles.yml

setup: $(STAMP) profiles.yml  ## create .venv with everything installed (idempotent)

demo: setup  ## embedded PostgreSQL + synthetic app data + dry run + real run + tests
	@$(BIN)/backfill-dev demo

test: setup  ## the whole test suite against real PostgreSQL (one process: make test TEST_WORKERS=0)
	@$(BIN)/python -m pytest -n $(TEST_WORKERS) --maxprocesses $(TEST_MAX_WORKERS) $(PYTEST_ARGS)

# The write paths' SQL (macros/writes, apply, operations) renders to nothing in its own
# files; lint/operations/ calls it with example arguments so sqlfluff checks it too.
lint: setup  ## sqlfluff (models, tests, analyses, the write paths' SQL) + ruff
	@$(BIN)/sqlfluff lint models data-tests analyses lint/operations
	@$(BIN)/ruff check src tests
	@$(BIN)/ruff format --check src tests

quality: setup  ## precision/recall of each grouping on 100k labeled leads (fewer: make quality QUALITY_LEADS=10000)
	@$(BIN)/backfill-dev quality --leads $(QUALITY_LEADS)

report: setup  ## the identity review report of the last run (dry or applied), in reports/
	@$(BIN)/backfill-dev report

bench: setup  ## benchmark 100 (dbt's fixed cost), 10k, 100k, 1M leads (make bench BENCH_ARGS='--sizes 10k')
	@$(BIN)/backfill-dev bench $(BENCH_ARGS)

bench-quick: setup  ## benchmark 100, 10k and 100k leads
	@$(BIN)/backfill-dev bench --sizes 100,10k,100k $(BENCH_ARGS)

db-start: setup  ## start the development PostgreSQL (prints the PG* variables)
	@$(BIN)/backfill-dev db start

db-env: setup  ## print the PG* variables of the running development PostgreSQL: eval "$$(make -s db-env)"
	@$(BIN)/backfill-dev db env

db-stop: setup  ## stop the development PostgreSQL
	@$(BIN)/backfill-dev db stop

clean:  ## remove the venv, the dev database and dbt's output
	@-test -x $(BIN)/backfill-dev && $(BIN)/backfill-dev db stop
	rm -rf $(VENV) .devdb target logs
