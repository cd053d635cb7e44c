# Everything starts from a fresh machine with python3 (>= 3.11): the first target that needs
# the environment installs a pinned uv into .tools/ and syncs .venv/ from uv.lock.

UV_VERSION := 0.13.9
UV := .tools/bin/uv
PY := .venv/bin/python
SYNCED := .venv/.synced

.PHONY: setup run demo test test-unit lint format bench clean

setup: $(SYNCED)

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(SYNCED): $(UV) uv.lock pyproject.toml libs/common/pyproject.toml services/*/pyproject.toml
	$(UV) sync --frozen --all-packages --compile-bytecode
	touch $@

run: setup ## Run the whole system locally (broker + 3 services on SQLite)
	$(PY) deploy/local/run.py

demo: setup ## Walk two demo partners through the whole flow (needs `make run`)
	$(PY) deploy/local/demo.py

test: setup ## Unit, integration and e2e tests (PostgreSQL too when TEST_POSTGRES_URL is set)
	$(PY) -m pytest

test-unit: setup
	$(PY) -m pytest tests/unit

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

format: setup
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

bench: setup ## Throughput and latency, each against a baseline measured in the same run
	$(PY) -m tests.bench.leads
	$(PY) -m tests.bench.routing
	$(PY) -m tests.bench.payouts
	$(PY) -m tests.bench.delivery

clean:
	rm -rf var .venv .tools .pytest_cache .mypy_cache .ruff_cache
