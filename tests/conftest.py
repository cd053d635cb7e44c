"""Fixtures shared by every test tier.

Integration and e2e tests run against real parts: a Tansu broker process per test (it starts in
milliseconds and keeps data in memory, so tests never see each other's events), and a real
database: SQLite always, PostgreSQL too when ``TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from crosslead_common.localstack import LocalBroker, free_port

TEST_POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"] if TEST_POSTGRES_URL else ["sqlite"]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    with LocalBroker(port=free_port(), log_file=tmp_path / "broker.log") as running:
        yield running


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database on each backend under test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    async with postgres_database() as url:
        yield url


def new_postgres_database_url() -> str:
    assert TEST_POSTGRES_URL
    return (
        make_url(TEST_POSTGRES_URL)
        .set(database=f"crosslead_test_{uuid.uuid4().hex[:12]}")
        .render_as_string(hide_password=False)
    )


class postgres_database:
    """Creates a throwaway PostgreSQL database and drops it afterwards."""

    def __init__(self) -> None:
        self.url = new_postgres_database_url()

    async def __aenter__(self) -> str:
        await _admin_sql(f'CREATE DATABASE "{make_url(self.url).database}"')
        return self.url

    async def __aexit__(self, *exc: object) -> None:
        await _admin_sql(f'DROP DATABASE IF EXISTS "{make_url(self.url).database}" WITH (FORCE)')


async def _admin_sql(statement: str) -> None:
    assert TEST_POSTGRES_URL
    engine = create_async_engine(TEST_POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()
