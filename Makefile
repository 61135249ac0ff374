# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: run test test-schema lint format bench clean

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# A random SECRET_KEY is written once into the git-ignored .env.
.env:
	umask 077; echo "SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))')" > .env

run: $(VENV)/.installed .env
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

# axe-core, which the browser tests load into every page (WCAG 2.1 AA checks).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: $(VENV)/.installed node_modules/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The API against its own OpenAPI document (schemathesis as anonymous, author and admin);
# `make test` runs it too, CI runs it as a stage of its own.
SCHEMA_TEST := tests/api/test_schemathesis.py
test-schema: $(VENV)/.installed
	$(BIN)/python -m pytest $(SCHEMA_TEST) $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Benchmark (bench/production.py): seeds BENCH_DATABASE_URL (its public schema is dropped
# and rebuilt), serves Inkwell (Redis rate-limit storage, access log) and the plain
# references side by side under gunicorn, and interleaves each row with its reference in
# rounds. BENCH_ARGS, e.g. "--rounds 5 --duration 5 --rows list,deep,home".
BENCH_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/inkwell_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/7
BENCH_ARGS ?=

bench: $(VENV)/.installed
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	psql "$(dir $(BENCH_DATABASE_URL))postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$(notdir $(BENCH_DATABASE_URL))'" | grep -q 1 \
		|| psql "$(dir $(BENCH_DATABASE_URL))postgres" -c 'CREATE DATABASE "$(notdir $(BENCH_DATABASE_URL))"'
	$(BIN)/python -m bench.production --database-url $(BENCH_DATABASE_URL) --redis-url $(BENCH_REDIS_URL) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
