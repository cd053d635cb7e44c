"""Fixtures shared by every test tier.

Integration and e2e tests run against real parts: a Tansu broker process per test (it starts in
milliseconds and keeps data in memory, so tests never see each other's events), and a real
database: SQLite always, PostgreSQL too when ``TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from crosslead_common.kafka import create_producer
from crosslead_local.localstack import LocalBroker, free_port

TEST_POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"] if TEST_POSTGRES_URL else ["sqlite"]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    with LocalBroker(port=free_port(), log_file=tmp_path / "broker.log") as running:
        yield running


@pytest.fixture
async def producer(broker: LocalBroker) -> AsyncIterator[AIOKafkaProducer]:
    """A started producer on ``broker``, as the services create theirs."""
    running = create_producer(broker.bootstrap_servers, client_id="test")
    await running.start()
    yield running
    await running.stop()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database on each backend under test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    async with postgres_database() as url:
        yield url


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A throwaway PostgreSQL database on the TEST_POSTGRES_URL server, dropped afterwards."""
    assert TEST_POSTGRES_URL
    url = make_url(TEST_POSTGRES_URL).set(database=f"crosslead_test_{uuid.uuid4().hex[:12]}")
    await _admin_sql(f'CREATE DATABASE "{url.database}"')
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        await _admin_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


async def _admin_sql(statement: str) -> None:
    assert TEST_POSTGRES_URL
    engine = create_async_engine(TEST_POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()
