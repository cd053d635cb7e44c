"""Property-based: random sequences of wins, partial refunds, holding expiries and payout runs in
several currencies, applied by the service to a real SQLite database built from the models
(append-only triggers included). After every step the debits equal the credits, every stored
balance equals a replay of the entries, and no minor unit is created or lost: what was earned
is either still on the accounts or was settled, and every run's transfers move exactly what it
settled."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import Database
from crosslead_common.money import from_minor, to_minor
from crosslead_common.terms import (
    CommissionTerms,
    FlatCommission,
    PercentCommission,
    Tier,
    TieredCommission,
)
from crosslead_payouts import service
from crosslead_payouts.ledger import AccountKind
from crosslead_payouts.models import Base, LeadCommission, LedgerEntry, PayoutRun, outbox
from crosslead_payouts.reconcile import reconcile
from tests.support.payouts import conversion

PARTNERS = ("p0", "p1", "p2")
CURRENCIES = ("EUR", "JPY", "KWD")  # exponents 2, 0 and 3
START = datetime(2026, 1, 30, tzinfo=UTC)  # months roll over during a sequence


@dataclass(frozen=True)
class Win:
    lead: int
    currency: str
    amount: int  # minor units
    terms: str
    share: Decimal
    holding_days: int


@dataclass(frozen=True)
class Refund:
    lead: int
    currency: str
    amount: int


@dataclass(frozen=True)
class Wait:
    days: int


@dataclass(frozen=True)
class Run:
    currency: str
    minimum: int


Step = Win | Refund | Wait | Run

currencies = st.sampled_from(("EUR", "EUR", *CURRENCIES))
leads = st.integers(min_value=0, max_value=5)
wins = st.builds(
    Win,
    lead=leads,
    currency=currencies,
    amount=st.integers(min_value=1, max_value=10**8),
    terms=st.sampled_from(["percent", "capped", "flat", "tiered"]),
    share=st.decimals(min_value=0, max_value=1, places=3),
    holding_days=st.sampled_from([0, 0, 3, 30]),
)
refunds = st.builds(Refund, lead=leads, currency=currencies, amount=st.integers(1, 10**8))
steps: st.SearchStrategy[Step] = st.one_of(
    wins,
    wins,
    refunds,
    refunds,
    st.builds(Wait, days=st.integers(min_value=1, max_value=40)),
    st.builds(Run, currency=currencies, minimum=st.sampled_from([0, 0, 1_000])),
)


def terms(kind: str, currency: str) -> CommissionTerms:
    """The agreement's terms: the same kind for every deal on a lead keeps the lead's
    commission currency that of the deal."""
    unit = from_minor(1, currency)
    if kind == "flat":
        return FlatCommission(amount=unit * 333, currency=currency)
    if kind == "tiered":
        tiers = (
            Tier(from_amount=Decimal(0), rate=Decimal("0.1")),
            Tier(from_amount=unit * 10**6, rate=Decimal("0.05")),
        )
        return TieredCommission(currency=currency, tiers=tiers)
    cap = {"amount": unit * 50_000, "currency": currency} if kind == "capped" else None
    return PercentCommission.model_validate({"rate": "0.137", "cap_per_lead": cap})


def parties(lead: int) -> dict[str, str]:
    source = PARTNERS[lead % 3]
    target = PARTNERS[(lead + 1 + lead // 3) % 3]
    return {"source": source, "target": target}


class Ledger:
    """Drives the service like the consumer and the API do, and checks the invariants."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.now = START

    async def apply(self, step: Step) -> None:
        if isinstance(step, Wait):
            self.now += timedelta(days=step.days)
        elif isinstance(step, Run):
            async with self.db.transaction() as session:
                await service.run_payouts(session, step.currency, minimum=step.minimum, at=self.now)
        else:
            await self._conversion(step)

    async def _conversion(self, step: Win | Refund) -> None:
        amount = str(from_minor(step.amount, step.currency))
        lead = f"lead_{step.lead}"
        if isinstance(step, Win):
            event = conversion(
                lead,
                "won",
                amount,
                **parties(step.lead),
                share=str(step.share),
                currency=step.currency,
                commission=terms(step.terms, step.currency),
                holding_days=step.holding_days,
                agreement_id=f"agr_{step.terms}",
            )
        else:
            if not await self._won(lead, step.currency):
                return  # intake refuses a refund for a lead that never won
            event = conversion(
                lead, "refunded", amount, currency=step.currency, **parties(step.lead)
            )
        async with self.db.transaction() as session:
            await service.apply_conversion(session, event, self.now)

    async def _won(self, lead: str, currency: str) -> bool:
        async with self.db.sessionmaker() as session:
            return await session.get(LeadCommission, (lead, currency)) is not None

    async def check(self) -> None:
        async with self.db.sessionmaker() as session:
            assert await reconcile(session) == []  # balances = replay; every posting balances
            total = await session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0))
            )
            assert total == 0  # debits = credits over the whole ledger
            await self._earned_is_on_accounts_or_settled(session)
            await self._transfers_move_what_runs_settled(session)

    async def _earned_is_on_accounts_or_settled(self, session: AsyncSession) -> None:
        earned: defaultdict[str, int] = defaultdict(int)
        for row in (await session.scalars(select(LeadCommission))).all():
            earned[row.commission_currency] += row.commission_minor - row.reversed_commission_minor
        on_accounts = await _receivables(session)
        settled: defaultdict[str, int] = defaultdict(int)
        for event in await _published(session, "crosslead.payout.settled.v1"):
            settled[event["currency"]] += to_minor(event["commission"], event["currency"])
        for currency in CURRENCIES:
            assert earned[currency] == on_accounts.get(currency, 0) + settled[currency]

    async def _transfers_move_what_runs_settled(self, session: AsyncSession) -> None:
        for run in (await session.scalars(select(PayoutRun))).all():
            moved: defaultdict[str, int] = defaultdict(int)
            for transfer in run.result["transfers"]:
                moved[transfer["to_partner_id"]] += transfer["amount"]
                moved[transfer["from_partner_id"]] -= transfer["amount"]
            rows = await session.execute(
                select(LedgerEntry.partner_id, func.sum(LedgerEntry.amount_minor))
                .where(
                    LedgerEntry.payout_run_id == run.id,
                    LedgerEntry.kind.in_(["commission_receivable", "commission_payable"]),
                )
                .group_by(LedgerEntry.partner_id)
            )
            settled = {partner: -int(amount) for partner, amount in rows.all()}
            assert {p: a for p, a in moved.items() if a} == {p: a for p, a in settled.items() if a}
            paid = sum(p["amount"] for p in run.result["manager_payouts"])
            managers = await session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(
                    LedgerEntry.payout_run_id == run.id, LedgerEntry.kind == "manager_paid"
                )
            )
            assert paid == -(managers or 0)


async def _receivables(session: AsyncSession) -> dict[str, int]:
    """What is still owed on commission receivables, per currency."""
    rows = await session.execute(
        select(LedgerEntry.currency, func.sum(LedgerEntry.amount_minor))
        .where(LedgerEntry.kind == AccountKind.COMMISSION_RECEIVABLE.value)
        .group_by(LedgerEntry.currency)
    )
    return {currency: int(amount) for currency, amount in rows.all()}


async def _published(session: AsyncSession, event_type: str) -> list[dict[str, Any]]:
    payloads = (await session.scalars(select(outbox.table.c.payload))).all()
    envelopes = [json.loads(payload) for payload in payloads]
    return [e["data"] for e in envelopes if e["type"] == event_type]


async def replay(sequence: list[Step]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'ledger.db'}")
        try:
            async with db.engine.begin() as conn:
                await conn.run_sync(Base.metadata.create_all)
            ledger = Ledger(db)
            for step in sequence:
                await ledger.apply(step)
                await ledger.check()
        finally:
            await db.dispose()


AFTER_PAYOUT = [  # a refund after a payout, then a negative carry netted by a new win
    Win(0, "EUR", 100_000, "percent", Decimal("0.2"), 3),
    Win(1, "EUR", 50_000, "flat", Decimal("0.5"), 0),
    Wait(4),
    Run("EUR", 0),
    Refund(0, "EUR", 70_000),
    Run("EUR", 0),
    Win(0, "EUR", 300_000, "tiered", Decimal("0.1"), 0),
    Run("EUR", 1_000),
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(sequence=AFTER_PAYOUT)
@given(sequence=st.lists(steps, min_size=3, max_size=30))
def test_random_sequences_keep_the_ledger_balanced_and_lose_nothing(sequence: list[Step]) -> None:
    asyncio.run(replay(sequence))
