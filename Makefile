# Ventanilla — the two commands: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Parallel test workers (pytest-xdist); 2 cores here.
TEST_WORKERS ?= 2

.PHONY: help install browser-deps mail-deps clamav-deps run test lint bench messages clean

help:
	@echo "make run    install everything, migrate SQLite, load demo data, start web + worker"
	@echo "make test   install everything and run the whole suite (DATABASE_URL=postgres://… for PostgreSQL)"
	@echo "make lint   ruff"
	@echo "make bench  every benchmark at a small size on PostgreSQL (JSON in var/bench/)"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# Debian's Chromium drives the browser tests through Playwright (no browser download).
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's chromium for the browser tests…"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium is missing and this user cannot apt-get install it: browser tests will be skipped."; \
	  fi; \
	fi

# Debian's dovecot is the real IMAP server the e-mail intake tests poll (they start their
# own instance on a free port; the system service is not used).
mail-deps:
	@if [ ! -x /usr/sbin/dovecot ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's dovecot-imapd for the IMAP intake tests…"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; \
	  else \
	    echo "dovecot is missing and this user cannot apt-get install it: IMAP tests will be skipped."; \
	  fi; \
	fi

# Debian's clamav-daemon is the real clamd the upload scanning tests talk to (they start their
# own instance on a temporary socket with a tiny test signature database: no freshclam, no
# internet; the system service is not used).
clamav-deps:
	@if [ ! -x /usr/sbin/clamd ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's clamav-daemon for the antivirus tests…"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clamav-daemon >/dev/null; \
	  else \
	    echo "clamd is missing and this user cannot apt-get install it: antivirus tests will be skipped."; \
	  fi; \
	fi

run: install
	$(PY) -m ventanilla migrate --noinput -v0
	$(PY) -m ventanilla collectstatic --noinput -v0
	$(PY) -m ventanilla seed_demo
	exec $(PY) -m ventanilla serve

test: install browser-deps mail-deps clamav-deps lint
	@echo "Database: $${DATABASE_URL:-SQLite (embedded)}"
	$(PY) -m pytest -n $(TEST_WORKERS) -q

lint: install
	$(PY) -m ruff check src tests bench

# Every benchmark at its small default size, one at a time, on PostgreSQL (a database of its
# own, created when missing). Large sizes: bench/RESULTS.md.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/ventanilla_bench
bench: install
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/run_all.py

# Regenerate the English catalogue (needs GNU gettext: apt-get install gettext).
messages: install
	cd src/ventanilla && ../../$(PY) -m django makemessages -l en --settings=ventanilla.settings --ignore="*/migrations/*" && ../../$(PY) -m django compilemessages --settings=ventanilla.settings

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
