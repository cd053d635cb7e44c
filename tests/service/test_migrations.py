"""Each service's migrations build exactly the schema its models describe, on every backend,
and keep the data earlier schemas hold (the payouts ledger rebooked as balanced postings, the
router's webhook secrets sealed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from crosslead_common.crypto import KeyRing
from crosslead_common.db import Database
from crosslead_common.migrations import upgrade
from crosslead_payouts import queries
from crosslead_payouts.cli import MIGRATIONS as PAYOUTS_MIGRATIONS
from crosslead_payouts.models import Base as PayoutsBase
from crosslead_payouts.models import Posting
from crosslead_payouts.reconcile import reconcile
from crosslead_router.cli import MIGRATIONS as ROUTER_MIGRATIONS
from crosslead_router.models import Base as RouterBase
from tests.support import SECRETS_KEY
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


async def test_the_migration_rebooks_the_single_entry_ledger_as_balanced_postings(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        async with database.engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "f9bdd683c586"))
            # What the first schema booked for a 1 000.00 deal and a 500.00 refund on it.
            for conversion_id, commission, manager_share in (
                ("cnv_won", 10_000, 2_000),
                ("cnv_refund", -5_000, -1_000),
            ):
                for partner, other, kind, manager, amount in (
                    ("ptr_shop", "ptr_installer", "commission_earned", None, commission),
                    ("ptr_installer", "ptr_shop", "commission_owed", None, commission),
                    ("ptr_shop", "ptr_installer", "manager_payable", "m-1", manager_share),
                ):
                    await conn.execute(
                        text(
                            "INSERT INTO ledger_entries (conversion_id, lead_id, partner_id, "
                            "counterparty_partner_id, kind, manager_id, amount_minor, currency, "
                            "created_at) VALUES (:c, 'lead_1', :p, :o, :k, :m, :a, 'EUR', :at)"
                        ),
                        {
                            "c": conversion_id,
                            "p": partner,
                            "o": other,
                            "k": kind,
                            "m": manager,
                            "a": amount,
                            "at": datetime.now(UTC),
                        },
                    )
        await upgrade(database_url, PAYOUTS_MIGRATIONS, PayoutsBase.metadata)
        async with database.sessionmaker() as session:
            assert await reconcile(session) == []
            statement = await queries.statement(session, "ptr_shop", datetime.now(UTC))
            postings = (await session.scalars(select(Posting.kind).order_by(Posting.id))).all()
        assert [(t.earned, t.manager_payable, t.available) for t in statement.totals] == [
            (5_000, 1_000, 4_000)
        ]
        assert postings == ["reversal", "accrual"]  # cnv_refund, cnv_won
        with pytest.raises(DBAPIError, match="append-only"):
            async with database.transaction() as session:
                await session.execute(text("DELETE FROM ledger_entries"))
    finally:
        await database.dispose()


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(PAYOUTS_MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["metadata"] = PayoutsBase.metadata
    return config


def router_alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROUTER_MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["metadata"] = RouterBase.metadata
    return config


async def test_the_migration_seals_the_secrets_stored_in_clear(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSLEAD_ROUTER_SECRETS_KEY", SECRETS_KEY)
    clear, previous = "whsec_" + "A" * 32, "whsec_" + "B" * 32
    database = Database(database_url)
    try:
        async with database.engine.begin() as conn:
            await conn.run_sync(
                lambda sync: command.upgrade(router_alembic_config(sync), "9d1e5a7c3b20")
            )
            await conn.execute(
                text(
                    "INSERT INTO webhook_endpoints (id, partner_id, url, secret, previous_secret, "
                    "status, created_at) VALUES ('we_1', 'ptr_fitter', 'https://h.example/x', "
                    ":secret, :previous, 'enabled', CURRENT_TIMESTAMP)"
                ),
                {"secret": clear, "previous": previous},
            )
        await upgrade(database_url, ROUTER_MIGRATIONS, RouterBase.metadata)
        async with database.engine.connect() as conn:
            row = (
                await conn.execute(text("SELECT secret, previous_secret FROM webhook_endpoints"))
            ).one()
    finally:
        await database.dispose()
    ring = KeyRing.from_settings(SECRETS_KEY)
    assert clear not in row[0]
    assert previous not in row[1]
    assert ring.open(row[0], "webhook_endpoints/we_1").decode() == clear
    assert ring.open(row[1], "webhook_endpoints/we_1").decode() == previous
