# Everything starts from a fresh machine with python3 (>= 3.11): the first target that needs
# the environment installs a pinned uv into .tools/ and syncs .venv/ from uv.lock.

UV_VERSION := 0.13.9
UV := .tools/bin/uv
PY := .venv/bin/python
SYNCED := .venv/.synced
# The browser tests drive Debian's Chromium; `make test` installs it when it is missing.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup run demo test test-fast test-unit openapi lint format bench clean

setup: $(SYNCED)

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(SYNCED): $(UV) uv.lock pyproject.toml libs/common/pyproject.toml services/*/pyproject.toml \
		deploy/local/pyproject.toml
	$(UV) sync --frozen --all-packages --compile-bytecode
	touch $@

run: setup ## Run the whole system locally (broker + 3 services on SQLite + the console)
	$(PY) -m crosslead_local.run

demo: setup ## Walk two demo partners through the whole flow (needs `make run`)
	$(PY) -m crosslead_local.demo

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

PYTEST_PARALLEL := -n auto --dist worksteal

test: setup $(CHROMIUM) ## Unit, service, integration and e2e tests (PostgreSQL too when TEST_POSTGRES_URL is set)
	$(PY) -m pytest $(PYTEST_PARALLEL)

test-fast: setup ## Unit and service tiers: no broker, no service processes (the edit loop)
	$(PY) -m pytest $(PYTEST_PARALLEL) tests/unit tests/service

test-unit: setup
	$(PY) -m pytest tests/unit

openapi: setup ## Regenerate docs/openapi.json, the gateway's merged OpenAPI document
	$(PY) -m crosslead_common.openapi_merge

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

format: setup
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

bench: setup ## Throughput and latency, each against a baseline measured in the same run
	$(PY) -m tests.bench.pipeline
	$(PY) -m tests.bench.leads
	$(PY) -m tests.bench.routing
	$(PY) -m tests.bench.payouts
	$(PY) -m tests.bench.telemetry
	$(PY) -m tests.bench.delivery

clean:
	rm -rf var .venv .tools .pytest_cache .mypy_cache .ruff_cache
