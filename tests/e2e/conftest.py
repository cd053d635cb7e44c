"""The e2e tier runs the real processes: ``crosslead-*`` console scripts and the broker, on
PostgreSQL when ``TEST_POSTGRES_URL`` is set, else on SQLite as ``make run`` does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from crosslead_local.localstack import LocalStack, free_port
from tests.e2e.harness import Client
from tests.support import ADMIN_TOKEN
from tests.support.databases import BACKENDS, postgres_database
from tests.support.kafka import SESSION_TIMEOUT_SECONDS
from tests.support.webhooks import Receiver, webhook_receiver

# The flows run on the production database when there is one to run on, else as `make run`.
E2E_BACKEND = BACKENDS[-1]


@pytest.fixture
def stack_env() -> dict[str, str]:
    """Settings a test module adds to the stack's environment (override to change them)."""
    return {}


@pytest.fixture(params=[E2E_BACKEND])
async def stack(
    request: pytest.FixtureRequest, tmp_path: Path, stack_env: dict[str, str]
) -> AsyncIterator[LocalStack]:
    ports = {"intake": free_port(), "router": free_port(), "payouts": free_port()}
    if request.param == "postgresql":
        async with (
            postgres_database() as intake,
            postgres_database() as router,
            postgres_database() as payouts,
        ):
            urls = {"intake": intake, "router": router, "payouts": payouts}
            async with _running(tmp_path, ports, urls, **stack_env) as running:
                yield running
    else:
        async with _running(tmp_path, ports, None, **stack_env) as running:
            yield running


@asynccontextmanager
async def _running(
    var: Path, ports: dict[str, int], urls: dict[str, str] | None, **env: str
) -> AsyncIterator[LocalStack]:
    stack = LocalStack(
        var_dir=var,
        admin_token=ADMIN_TOKEN,
        broker_port=free_port(),
        ports=ports,
        database_urls=urls,
        extra_env={
            "CROSSLEAD_KAFKA_TOPIC_PARTITIONS": "3",
            "CROSSLEAD_KAFKA_SESSION_TIMEOUT_SECONDS": str(SESSION_TIMEOUT_SECONDS),
            # Unanswered offers move on one second after their deadline, not ten.
            "CROSSLEAD_ROUTER_DEADLINE_GRACE_SECONDS": "1",
            # Every e2e run writes JSON logs, which the observability tests parse.
            "CROSSLEAD_LOG_FORMAT": "json",
            # The tests poll leads many times a second with one token; rate limits have their
            # own tests.
            "CROSSLEAD_RATE_LIMIT_PER_SECOND": "1000",
            "CROSSLEAD_RATE_LIMIT_BURST": "2000",
            **env,
        },
    )
    await asyncio.to_thread(stack.start)
    try:
        yield stack
    finally:
        await asyncio.to_thread(stack.stop)


@pytest.fixture
async def client(stack: LocalStack) -> AsyncIterator[Client]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield Client(stack, http)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    async with webhook_receiver() as running:
        yield running


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """An e2e test runs real processes on ports picked free a moment earlier, beside a second
    xdist worker doing the same on two cores: such a test that fails is run once more (the
    report shows the first failure as a rerun), so a port or scheduling race does not sink the
    suite while a real failure still fails twice."""
    e2e = Path(__file__).parent
    for item in items:
        if e2e in item.path.parents:
            item.add_marker(pytest.mark.flaky(reruns=1))
