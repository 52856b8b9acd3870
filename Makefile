# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run PORT=8001` serves elsewhere; links in messages and the printed URLs follow.
PORT ?= 8000
export SITE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: run test faults lint format bench migrate demo clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

## run: migrate, load demo data, serve on :8000 (PORT=8120 for another port) with a Celery worker + beat (SQLite + embedded broker)
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)} $(BIN)/python manage.py demo
	$(BIN)/python -m devtools.run_local --port $(PORT) $(RUN_ARGS)

## test: the whole suite (DATABASE_URL / CELERY_BROKER_URL select PostgreSQL / Redis)
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

## screenshots: run the browser tests and keep their screenshots for the docs (docs/screenshots/)
screenshots: $(STAMP)
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -m browser -n 0 $(PYTEST_ARGS)

## faults: the fault suite alone (also part of `make test`); needs DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://...
faults: $(STAMP)
	REQUIRE_SERVICES=1 $(BIN)/python -m pytest -m faults $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: the production stack measured against floors; one table, also in bench/results/ (docs/performance.md)
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
