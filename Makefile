# Conjure: `make run` to start it, `make test` to prove it. `make help` lists the rest.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
PYTEST_ARGS ?=
# Where `make run` listens; links (invites, local file URLs) follow unless PUBLIC_BASE_URL is set.
PORT ?= 8000
# pytest-xdist workers for `make test-only` (0: no workers, all in one process). Each worker starts
# its own PostgreSQL, Redis and migrated templates (tests/conftest.py), so they share nothing.
PYTEST_WORKERS ?= 3
# `make fuzz`: examples per operation and phase, and seconds of generation per caller.
FUZZ_ARGS ?= --max-examples 100 --max-time 120

.DEFAULT_GOAL := help
.PHONY: help install run test test-only lint fmt types cycles migrate revision bench drill system-deps lock fuzz env-example

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q uv
	$(UV) pip install -q --python $(PY) -r requirements.lock
	$(UV) pip install -q --python $(PY) --no-deps -e .
	touch $@

install: $(VENV)/.installed ## Create the virtualenv and install locked dependencies

lock: ## Re-resolve requirements.lock from pyproject.toml
	$(UV) pip compile -q pyproject.toml --extra test -o requirements.lock --python-version 3.11

run: install ## Migrate and start API + worker on the embedded default: make run [PORT=8000] (127.0.0.1)
	$(VENV)/bin/conjure up --port $(PORT)

migrate: install ## Apply database migrations
	$(VENV)/bin/conjure migrate

revision: install ## New migration: make revision m="what changed" [branch=tarot] (default: platform)
	$(PY) -c "from conjure.apps import installed_apps; from conjure.migrations.runner import alembic_config; from alembic import command; import os; command.revision(alembic_config(os.environ.get('DATABASE_URL','sqlite+aiosqlite:///var/conjure.db'), installed_apps()), message='$(m)', head='$(or $(branch),platform)@head')"

env-example: install ## Regenerate .env.example (every setting with its default) after adding a setting
	$(PY) scripts/env_example.py .env.example

system-deps: ## Install PostgreSQL, Redis and Chromium from Debian packages when missing
	scripts/system-deps.sh

lint: install ## ruff lint + format check, mypy strict
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

fmt: install ## Format and autofix
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

types: install ## mypy strict on src/
	$(VENV)/bin/mypy

cycles: install ## Print import cycles among src/conjure modules (deferred and TYPE_CHECKING imports count)
	$(PY) -m tests.platform.test_import_cycles

test: install system-deps lint test-only ## Install what tests need and run lint + the whole suite

fuzz: install ## Fuzz every operation with schemathesis, as a user, an admin and anonymously (FUZZ_ARGS=...)
	$(PY) -m tests.platform.fuzz $(FUZZ_ARGS)

test-only: install ## Run the test suite only (PYTEST_WORKERS=N processes, PYTEST_ARGS=... for pytest)
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: install system-deps ## Run the API and job-engine benchmarks (figures go in the README)
	$(PY) bench/run.py

drill: install system-deps ## The viral-spike drill: make drill DRILL_ARGS="--users 5000"
	$(PY) bench/viral_drill.py $(DRILL_ARGS)
