"""Fixtures shared by every test tier.

Tests that are about the broker run a Tansu broker process per test (it starts in
milliseconds and keeps data in memory, so tests never see each other's events). Database
tests run on SQLite always, and on PostgreSQL too when ``TEST_POSTGRES_URL`` is set unless
they are marked ``sqlite_only`` (their behaviour does not depend on the dialect); a test that
needs a service's schema clones it with :func:`tests.support.databases.migrate`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from crosslead_common.db import Database
from crosslead_common.kafka import create_producer
from crosslead_local.localstack import LocalBroker, free_port
from tests.support.databases import BACKENDS, drop_templates, fresh_database, migrate

#: Loggers whose handlers, level or propagation a service's logging set-up changes.
_CONFIGURED_LOGGERS = (
    "",
    "uvicorn",
    "uvicorn.error",
    "aiokafka",
    "httpx",
    "httpcore",
    "aiohttp.client",
)


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """A test that runs a service command in-process (which sets up the service's logging) leaves
    the logging of the tests after it as it found it: no handler of its keeps writing."""
    loggers = [logging.getLogger(name) for name in _CONFIGURED_LOGGERS]
    saved = [(lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    yield
    for lg, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        lg.handlers[:], lg.level, lg.propagate = handlers, level, propagate


@pytest.fixture(scope="session", autouse=True)
def _schema_templates() -> Iterator[None]:
    yield
    asyncio.run(drop_templates())


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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Behaviour that depends on the dialect (locks, SKIP LOCKED, upserts, triggers,
    # concurrency, queries) runs on every backend; a test marked ``sqlite_only`` does not.
    if "database_url" in metafunc.fixturenames:
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
        backends = ["sqlite"] if only_sqlite else BACKENDS
        metafunc.parametrize("database_url", backends, indirect=True)


@pytest.fixture
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database on each backend under test: empty, or already holding the schema of
    the service named by the test's ``@pytest.mark.schema("<service>")``."""
    marker = request.node.get_closest_marker("schema")
    schema = marker.args[0] if marker is not None else None
    async with fresh_database(request.param, tmp_path / "test.db", schema) as url:
        yield url


@pytest.fixture
async def db(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Database]:
    """``database_url`` with the schema of the service named by the test's
    ``@pytest.mark.schema("<service>")``, opened as that service opens its database."""
    marker = request.node.get_closest_marker("schema")
    assert marker is not None, "mark the test with @pytest.mark.schema(<service>)"
    await migrate(database_url, marker.args[0])
    database = Database(database_url)
    yield database
    await database.dispose()
