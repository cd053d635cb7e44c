"""The e2e tier runs the real processes: ``crosslead-*`` console scripts and the broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from crosslead_common.localstack import LocalStack, free_port
from tests.conftest import BACKENDS, postgres_database
from tests.e2e.harness import Client, Receiver
from tests.support import ADMIN_TOKEN, serve


@pytest.fixture(params=BACKENDS)
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LocalStack]:
    ports = {"intake": free_port(), "router": free_port(), "payouts": free_port()}
    if request.param == "postgresql":
        async with (
            postgres_database() as intake,
            postgres_database() as router,
            postgres_database() as payouts,
        ):
            urls = {"intake": intake, "router": router, "payouts": payouts}
            async with _running(tmp_path, ports, urls) as running:
                yield running
    else:
        async with _running(tmp_path, ports, None) as running:
            yield running


@asynccontextmanager
async def _running(
    var: Path, ports: dict[str, int], urls: dict[str, str] | None
) -> AsyncIterator[LocalStack]:
    stack = LocalStack(
        var_dir=var,
        admin_token=ADMIN_TOKEN,
        broker_port=free_port(),
        ports=ports,
        database_urls=urls,
        extra_env={
            "CROSSLEAD_KAFKA_TOPIC_PARTITIONS": "3",
            # Unanswered offers move on one second after their deadline, not ten.
            "CROSSLEAD_ROUTER_DEADLINE_GRACE_SECONDS": "1",
            # Every e2e run writes JSON logs, which the observability tests parse.
            "CROSSLEAD_LOG_FORMAT": "json",
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
    hooks = Receiver()
    async with serve(hooks.app()) as base_url:  # type: ignore[arg-type]
        yield hooks, base_url
