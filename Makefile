# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export DATABASE_URL ?= sqlite:///var/safeguard.db

.PHONY: run serve-prod test install lint format bench bench-api clean

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

run: $(VENV)/.installed-run
	mkdir -p var
	$(BIN)/safeguard db upgrade
	$(BIN)/safeguard deploy bpmn
	$(BIN)/safeguard users seed-demo --url http://$(HOST):$(PORT)
	$(BIN)/safeguard serve --host $(HOST) --port $(PORT)

# Production: gunicorn with WEB_WORKERS (4) workers, each running the timer scheduler
# (service/gunicorn_conf.py). The database must be named: DATABASE_URL=postgresql+psycopg://...
serve-prod: $(VENV)/.installed-run
	@if [ "$(origin DATABASE_URL)" = "file" ]; then \
		echo "make serve-prod needs DATABASE_URL (e.g. postgresql+psycopg://user@host:5432/db)" >&2; \
		exit 2; fi
	$(BIN)/safeguard db upgrade
	$(BIN)/safeguard deploy bpmn
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c python:service.gunicorn_conf

test: $(VENV)/.installed-test
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
