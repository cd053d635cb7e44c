"""Each service's migrations build exactly the schema its models describe, on every backend."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from crosslead_common.db import Database
from crosslead_common.migrations import upgrade
from crosslead_intake import cli as intake_cli
from crosslead_intake.models import Base as IntakeBase
from crosslead_payouts import cli as payouts_cli
from crosslead_payouts.models import Base as PayoutsBase
from crosslead_router import cli as router_cli
from crosslead_router.models import Base as RouterBase

SERVICES = {
    "intake": (intake_cli.MIGRATIONS, IntakeBase.metadata),
    "router": (router_cli.MIGRATIONS, RouterBase.metadata),
    "payouts": (payouts_cli.MIGRATIONS, PayoutsBase.metadata),
}


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_upgrade_head_matches_the_models(service: str, database_url: str) -> None:
    migrations, metadata = SERVICES[service]
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
