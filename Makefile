# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export DATABASE_URL ?= sqlite:///var/safeguard.db

.PHONY: run test install assets lint format bench bench-api clean

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
	$(BIN)/safeguard deploy bpmn
	$(BIN)/safeguard users seed-demo --url http://$(HOST):$(PORT)
	$(BIN)/safeguard serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test $(ASSETS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

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

clean:
	rm -rf $(VENV) var .pytest_cache
