"""Databases under test: SQLite always, PostgreSQL too when ``TEST_POSTGRES_URL`` is set.

Each service's schema is migrated once per test process into a template; :func:`migrate`
then gives a test's database that schema by copying the template (a file copy on SQLite,
``CREATE DATABASE … TEMPLATE`` on PostgreSQL), which takes milliseconds instead of a run of
every migration. ``tests/integration/test_migrations.py`` still migrates empty databases.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import MetaData, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from crosslead_common.migrations import upgrade
from crosslead_intake.cli import MIGRATIONS as INTAKE_MIGRATIONS
from crosslead_intake.models import Base as IntakeBase
from crosslead_payouts.cli import MIGRATIONS as PAYOUTS_MIGRATIONS
from crosslead_payouts.models import Base as PayoutsBase
from crosslead_router.cli import MIGRATIONS as ROUTER_MIGRATIONS
from crosslead_router.models import Base as RouterBase

__all__ = [
    "BACKENDS",
    "SCHEMAS",
    "TEST_POSTGRES_URL",
    "drop_templates",
    "fresh_database",
    "migrate",
    "postgres_database",
]

TEST_POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"] if TEST_POSTGRES_URL else ["sqlite"]

#: Each service's migrations and the models they must match.
SCHEMAS: dict[str, tuple[Path, MetaData]] = {
    "intake": (INTAKE_MIGRATIONS, IntakeBase.metadata),
    "router": (ROUTER_MIGRATIONS, RouterBase.metadata),
    "payouts": (PAYOUTS_MIGRATIONS, PayoutsBase.metadata),
}

_PREFIX = "crosslead_test_"
_templates: dict[tuple[str, str], str] = {}  # (backend, service) → SQLite path or PG name
_fresh: dict[str, str] = {}  # URL of a database created with a schema, not yet used → service
_template_dir = Path(tempfile.gettempdir()) / f"{_PREFIX}{os.getpid()}"


@asynccontextmanager
async def postgres_database(template: str | None = None) -> AsyncIterator[str]:
    """A throwaway PostgreSQL database on the TEST_POSTGRES_URL server, a copy of
    ``template`` or empty; dropped afterwards."""
    name = f"{_PREFIX}{uuid.uuid4().hex[:12]}"
    await _admin_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield _pg_url(name)
    finally:
        await _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def fresh_database(backend: str, path: Path, schema: str | None) -> AsyncIterator[str]:
    """A new database on ``backend`` (a file at ``path`` on SQLite), empty or with the newest
    schema of the service ``schema``; dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{path}"
        if schema is not None:
            shutil.copyfile(await _template("sqlite", schema), path)
            _fresh[url] = schema
        yield url
        return
    template = await _template(backend, schema) if schema is not None else None
    async with postgres_database(template) as url:
        if schema is not None:
            _fresh[url] = schema
        try:
            yield url
        finally:
            _fresh.pop(url, None)


async def migrate(database_url: str, service: str) -> None:
    """Give the database at ``database_url`` the newest schema of ``service`` and nothing
    else (a no-op on a database just created with that schema)."""
    if _fresh.pop(database_url, None) == service:
        return
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        shutil.copyfile(await _template("sqlite", service), url.database)
        return
    template = await _template("postgresql", service)
    await _admin_sql(f'DROP DATABASE "{url.database}" WITH (FORCE)')
    await _admin_sql(f'CREATE DATABASE "{url.database}" TEMPLATE "{template}"')


async def _template(backend: str, service: str) -> str:
    if (backend, service) not in _templates:
        migrations, metadata = SCHEMAS[service]
        if backend == "sqlite":
            _template_dir.mkdir(exist_ok=True)
            path = str(_template_dir / f"{service}.db")
            await upgrade(f"sqlite+aiosqlite:///{path}", migrations, metadata)
            _templates[backend, service] = path  # its last connection closed: no WAL left
        else:
            name = f"{_PREFIX}template_{service}_{os.getpid()}"
            await _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await _admin_sql(f'CREATE DATABASE "{name}"')
            await upgrade(_pg_url(name), migrations, metadata)
            _templates[backend, service] = name
    return _templates[backend, service]


async def drop_templates() -> None:
    """Remove this process's templates (at the end of the session)."""
    for (backend, _), template in list(_templates.items()):
        if backend == "postgresql":
            await _admin_sql(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
    _templates.clear()
    shutil.rmtree(_template_dir, ignore_errors=True)


def _pg_url(name: str) -> str:
    assert TEST_POSTGRES_URL
    return make_url(TEST_POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


async def _admin_sql(statement: str) -> None:
    assert TEST_POSTGRES_URL
    engine = create_async_engine(TEST_POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()
