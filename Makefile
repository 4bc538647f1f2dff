# skillhub — `make run` to try it, `make test` to test it.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
# seed_demo and serve read it: the printed URLs and the listening port follow it.
export PORT

.PHONY: run test install migrate seed serve bench bench-api bench-webhooks bench-signals bench-exports bench-expiry lint clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

## Set up everything on the embedded default, print the demo credentials, serve web + worker.
run: seed
	WEBHOOKS_ALLOW_PRIVATE_TARGETS=$${WEBHOOKS_ALLOW_PRIVATE_TARGETS:-1} $(BIN)/python manage.py serve --port $(PORT)

## Run the test suite (against DATABASE_URL / REDIS_URL / DRAMATIQ_BROKER_URL when set).
test: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

## Benchmarks on PostgreSQL + Redis (not part of `make test`).
bench: bench-api bench-webhooks bench-signals bench-exports bench-expiry

bench-api: install
	$(BIN)/python bench/api_pagination.py
	$(BIN)/python bench/learner_bulk.py

bench-webhooks: install
	@if [ -f bench/webhook_delivery.py ]; then $(BIN)/python bench/webhook_delivery.py; fi

bench-signals: install
	@if [ -f bench/signal_ingest.py ]; then $(BIN)/python bench/signal_ingest.py; fi

bench-exports: install
	$(BIN)/python bench/export_and_upload.py

bench-expiry: install
	$(BIN)/python bench/assignment_expiry.py

## Lint: ruff (ruff.toml) and mypy with the Django and DRF stubs (mypy.ini).
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data
