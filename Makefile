# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export DATABASE_URL ?= sqlite:///var/safeguard.db

.PHONY: run test install lint format bench bench-api bench-load clean

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
