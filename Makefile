# Loket: `make run` (demo on SQLite) and `make test` (lint, types, whole suite).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Find a Python 3.12+: python3.13/python3.12 on the PATH that actually run, else pyenv's.
PYTHON ?= $(shell \
  for c in python3.13 python3.12; do \
    if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1; then command -v $$c; exit 0; fi; \
  done; \
  root=$$(pyenv root 2>/dev/null || echo $$HOME/.pyenv); \
  for c in $$root/versions/3.13*/bin/python3.13 $$root/versions/3.12*/bin/python3.12; do \
    if [ -x "$$c" ] && "$$c" -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1; then echo $$c; exit 0; fi; \
  done)

.PHONY: help venv run test lint types pytest test-sqlite test-postgres bench clean messages

help:
	@echo "make run    - run Loket with demo data at http://127.0.0.1:8000 (SQLite)"
	@echo "make test   - lint, types and the whole test suite (SQLite, and PostgreSQL when reachable)"
	@echo "make bench  - benchmarks (results in docs/benchmarks.md)"

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "error: Loket needs Python 3.12 or newer (Django 6)." >&2; \
	  echo "       None found as python3.13/python3.12 on the PATH nor under pyenv." >&2; \
	  echo "       Install one (e.g. 'pyenv install 3.12') or run: make PYTHON=/path/to/python3.12 ..." >&2; \
	  exit 1; fi
	@test -x $(PY) || "$(PYTHON)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/loket run --demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: $(STAMP)
	$(VENV)/bin/mypy loket

# The suite runs on SQLite, then on PostgreSQL when one answers at LOKET_TEST_POSTGRES_URL
# (default: the loopback server, database created per run). Without PostgreSQL that half is
# skipped with a visible notice.
POSTGRES_URL ?= $(or $(LOKET_TEST_POSTGRES_URL),postgres://postgres@127.0.0.1:5432/test)

test-sqlite: $(STAMP)
	$(VENV)/bin/pytest -n 2 -q

test-postgres: $(STAMP)
	@if $(PY) -c "import psycopg,sys; psycopg.connect('$(POSTGRES_URL)', connect_timeout=3).close()" >/dev/null 2>&1; then \
	  LOKET_DATABASE_URL='$(POSTGRES_URL)' $(VENV)/bin/pytest -n 2 -q; \
	elif [ -n "$$LOKET_REQUIRE_POSTGRES" ]; then \
	  echo "error: PostgreSQL is not reachable at $(POSTGRES_URL) and LOKET_REQUIRE_POSTGRES is set." >&2; exit 1; \
	else \
	  echo ""; echo "NOTICE: PostgreSQL is not reachable at $(POSTGRES_URL): the PostgreSQL half of the suite was SKIPPED."; echo ""; \
	fi

test: lint types test-sqlite test-postgres

bench: $(STAMP)
	$(PY) bench/run.py
	$(PY) bench/webhook.py
	$(PY) bench/email_import.py

# Refresh the translation catalogs from the source and compile them (needs gettext). Then
# translate new or "#, fuzzy" entries in loket/locale/id/LC_MESSAGES/django.po and run it again.
messages: $(STAMP)
	cd loket && LOKET_DATA_DIR=$(CURDIR)/data ../$(VENV)/bin/loket makemessages -l id -l en --ignore 'tests/*' --ignore '*/tests/*'
	cd loket && LOKET_DATA_DIR=$(CURDIR)/data ../$(VENV)/bin/loket compilemessages

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache
