"""The ledger's guarantees on real databases: the database refuses to change or delete entries,
one conversion delivered many times at once is posted once, ``crosslead-payouts reconcile``
finds every balance that does not match its entries, and a run with an earlier clock settles
nothing twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from crosslead_common.db import Database
from crosslead_common.events import Envelope
from crosslead_common.kafka import EventApplier
from crosslead_payouts import service
from crosslead_payouts.cli import main
from crosslead_payouts.consumers import GROUP_ID, handlers
from crosslead_payouts.models import LedgerEntry, Posting, processed_events
from tests.support.payouts import conversion

pytestmark = pytest.mark.schema("payouts")


async def won_deal(db: Database, lead_id: str = "lead_1") -> None:
    async with db.transaction() as session:
        await service.apply_conversion(
            session, conversion(lead_id, "won", "1000.00"), datetime.now(UTC)
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET amount_minor = amount_minor + 1",
        "DELETE FROM ledger_entries",
        "UPDATE postings SET kind = 'accrual'",
        "DELETE FROM postings",
    ],
)
async def test_the_database_refuses_to_change_or_delete_ledger_rows(
    db: Database, statement: str
) -> None:
    await won_deal(db)
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.transaction() as session:
            await session.execute(text(statement))
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.sum(LedgerEntry.amount_minor))) == 0
        assert await session.scalar(select(func.count()).select_from(LedgerEntry)) == 4


async def test_one_conversion_delivered_ten_times_at_once_is_posted_once(db: Database) -> None:
    won = conversion("lead_1", "won", "1000.00")
    envelope = Envelope.wrap(won, source="test")
    # The same event ten times, and the same conversion under three more event ids, each
    # applied by its own consumer at the same time.
    envelopes = [envelope] * 10 + [Envelope.wrap(won, source="test")] * 3
    appliers = [
        EventApplier(db=db, processed=processed_events, group_id=GROUP_ID, handlers=handlers)
        for _ in envelopes
    ]
    await asyncio.gather(*(a.apply(e) for a, e in zip(appliers, envelopes, strict=True)))

    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Posting)) == 1
        entries = (await session.scalars(select(LedgerEntry.amount_minor))).all()
    assert sorted(entries) == [-10_000, -2_000, 2_000, 10_000]


async def test_reconcile_command_reports_balances_that_differ_from_their_entries(
    db: Database,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CROSSLEAD_ADMIN_TOKEN", "test-admin-token-0123456789")
    monkeypatch.setenv("CROSSLEAD_PAYOUTS_DATABASE_URL", database_url)
    await won_deal(db, "lead_1")
    await won_deal(db, "lead_2")

    with pytest.raises(SystemExit) as sound:
        await asyncio.to_thread(main, ["reconcile"])
    assert sound.value.code == 0
    assert "0 discrepancies" in capsys.readouterr().out

    async with db.transaction() as session:  # balances are not append-only: tamper with one
        await session.execute(
            text(
                "UPDATE accounts SET balance_minor = balance_minor + 1 "
                "WHERE kind = 'commission_receivable'"
            )
        )
    with pytest.raises(SystemExit) as broken:
        await asyncio.to_thread(main, ["reconcile"])
    assert broken.value.code == 1
    out = capsys.readouterr().out
    assert "account ptr_shop/ptr_installer/commission_receivable//EUR: expected 20000" in out
    assert "1 discrepancies" in out


async def test_a_run_with_an_earlier_clock_never_settles_a_settled_balance_again(
    db: Database,
) -> None:
    # Two replicas, or a run that waited for another's lock: the later run's clock is behind.
    await won_deal(db)
    now = datetime.now(UTC)

    async def run_at(at: datetime) -> dict[str, Any]:
        async with db.transaction() as session:
            run, _ = await service.run_payouts(session, "EUR", minimum=0, at=at)
        return run.result

    first = await run_at(now + timedelta(seconds=5))
    assert first["transfers"] == [
        {"from_partner_id": "ptr_installer", "to_partner_id": "ptr_shop", "amount": 10_000}
    ]
    assert await run_at(now) == {"transfers": [], "manager_payouts": [], "carried_forward": []}
