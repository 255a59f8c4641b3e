# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export DATABASE_URL ?= sqlite:///var/safeguard.db
# `make run DEPLOY_FLAGS=--force`: deploy a changed bpmn/ file over a version made in the
# modeller (refused otherwise; README, "Diagrams on disk and in the modeller").
DEPLOY_FLAGS ?=

.PHONY: screenshots run serve-prod test install assets lint format bench bench-api bench-load clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run

# Front-end bundles (bpmn-js viewer and modeller, bpmnlint) from npm into service/static/vendor/,
# rebuilt when the lock file or the build inputs change. Never a CDN: closed networks.
ASSETS := service/static/vendor/.built
$(ASSETS): package.json package-lock.json $(wildcard frontend/*) frontend/.bpmnlintrc
	npm ci --ignore-scripts --no-audit --no-fund
	node frontend/build.mjs
	touch $@

assets: $(ASSETS)

run: $(VENV)/.installed-run $(ASSETS)
	mkdir -p var
	$(BIN)/safeguard db upgrade
	$(BIN)/safeguard deploy bpmn $(DEPLOY_FLAGS)
	$(BIN)/safeguard users seed-demo --url http://$(HOST):$(PORT)
	$(BIN)/safeguard serve --host $(HOST) --port $(PORT)

# Production: gunicorn with WEB_WORKERS (4) workers, each running the timer scheduler
# (service/gunicorn_conf.py). The database must be named: DATABASE_URL=postgresql+psycopg://...
serve-prod: $(VENV)/.installed-run $(ASSETS)
	@if [ "$(origin DATABASE_URL)" = "file" ]; then \
		echo "make serve-prod needs DATABASE_URL (e.g. postgresql+psycopg://user@host:5432/db)" >&2; \
		exit 2; fi
	$(BIN)/safeguard db upgrade
	$(BIN)/safeguard deploy bpmn $(DEPLOY_FLAGS)
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c python:service.gunicorn_conf

test: $(VENV)/.installed-test $(ASSETS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# Rewrite docs/screenshots/*.png from the browser tests (README's Screenshots section).
screenshots: $(VENV)/.installed-test assets
	SAFEGUARD_SCREENSHOTS=1 $(BIN)/pytest tests/browser -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/engine.py

# The service over HTTP (waitress), CLIENTS concurrent users; POSTGRES_URL=... for PostgreSQL.
CLIENTS ?= 8
INSTANCES ?= 20
bench-api: $(VENV)/.installed-test
	$(BIN)/python benchmarks/api.py --clients $(CLIENTS) --instances $(INSTANCES) \
		$(if $(POSTGRES_URL),--postgres-url $(POSTGRES_URL))

# 50 users on gunicorn -w 4 (SQLite, and PostgreSQL with POSTGRES_URL=admin URL), then the
# worklist query with 1 000 000 task rows seeded (PostgreSQL database bench_scale, or SQLite).
USERS ?= 50
DURATION ?= 45
bench-load: $(VENV)/.installed-test
	$(BIN)/python benchmarks/load.py --users $(USERS) --duration $(DURATION) \
		$(if $(POSTGRES_URL),--postgres-url $(POSTGRES_URL))
	$(BIN)/python benchmarks/worklist.py $(if $(POSTGRES_URL),--postgres-url $(POSTGRES_URL))

clean:
	rm -rf $(VENV) var .pytest_cache
