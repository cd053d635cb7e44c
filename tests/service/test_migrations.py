"""Each service's migrations build exactly the schema its models describe, on every backend."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from crosslead_common.db import Database
from crosslead_common.migrations import upgrade
from tests.support.databases import SCHEMAS


@pytest.mark.parametrize("service", sorted(SCHEMAS))
async def test_upgrade_head_matches_the_models(service: str, database_url: str) -> None:
    migrations, metadata = SCHEMAS[service]
    await upgrade(database_url, migrations, metadata)
    await upgrade(database_url, migrations, metadata)  # idempotent: a second run is a no-op
    assert await schema_drift(database_url, metadata) == []


async def schema_drift(url: str, metadata: MetaData) -> list[object]:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return list(
                await conn.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
                )
            )
    finally:
        await db.dispose()
