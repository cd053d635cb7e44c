"""Read use cases: a partner's statement and a manager's earnings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.auth import Principal
from crosslead_common.domain import InvalidField, NotFound
from crosslead_payouts import repository
from crosslead_payouts.ledger import (
    AccountKind,
    CurrencyTotals,
    Kind,
    currency_totals,
    statement_amount,
)
from crosslead_payouts.models import LedgerEntry, PayoutRun

__all__ = [
    "ManagerEarnings",
    "Statement",
    "StatementLine",
    "manager_earnings",
    "payout_run",
    "statement",
]


@dataclass(frozen=True)
class StatementLine:
    """A commission booked or reversed on the partner's account, as the partner reads it."""

    lead_id: str
    kind: Kind
    amount: int
    currency: str
    counterparty_partner_id: str
    manager_id: str | None
    at: datetime
    available_at: datetime


@dataclass(frozen=True)
class Statement:
    partner_id: str
    totals: list[CurrencyTotals]
    lines: list[StatementLine]


@dataclass(frozen=True)
class ManagerEarnings:
    manager_id: str
    partner_id: str
    totals: list[tuple[str, int]]  # (currency, minor units), sorted by currency


async def statement(
    session: AsyncSession, partner_id: str, at: datetime, *, must_be_known: bool = True
) -> Statement:
    """Everything on ``partner_id``'s account: totals per currency (with what is pending,
    available and paid at ``at``) and every commission line in time order. Raises a 404
    problem for a partner this service has never heard of when ``must_be_known`` (a partner
    asking for its own, with a valid key, may be one whose registration is still on its way:
    its statement is empty)."""
    if must_be_known and not await repository.partner_known(session, partner_id):
        raise NotFound("partner")
    # Totals come from the very entries the lines are: two queries could see two different
    # moments of the ledger (READ COMMITTED), and a statement must add up.
    entries = await repository.statement_entries(session, partner_id)
    lines = [_line(entry) for entry in entries if entry.payout_run_id is None]
    # Debit-positive amounts on these accounts are already in the sense of net: what the
    # partner is owed is positive, what it owes (to partners or managers) negative.
    unsettled = ((entry.currency, entry.amount_minor, entry.is_available(at)) for entry in entries)
    totals = currency_totals(((ln.currency, ln.kind, ln.amount) for ln in lines), unsettled)
    return Statement(partner_id, totals, lines)


def _line(entry: LedgerEntry) -> StatementLine:
    kind, amount = statement_amount(AccountKind(entry.kind), entry.amount_minor)
    return StatementLine(
        lead_id=entry.lead_id,
        kind=kind,
        amount=amount,
        currency=entry.currency,
        counterparty_partner_id=entry.counterparty_partner_id,
        manager_id=entry.manager_id or None,
        at=entry.created_at,
        available_at=entry.available_at,
    )


async def payout_run(session: AsyncSession, run_id: str, principal: Principal) -> PayoutRun:
    """A recorded run, for the operator or a partner that takes part in it (404 otherwise).
    A partner sees only its own part: the transfers it pays or receives, its own managers'
    payouts and the amounts carried forward between it and others."""
    run = await repository.payout_run(session, run_id)
    if run is None or not (principal.is_admin or principal.partner_id in _participants(run)):
        raise NotFound("payout run")
    if principal.partner_id is None:
        return run
    own = {
        part: [item for item in items if principal.partner_id in _named(item)]
        for part, items in run.result.items()
    }
    # A detached copy: the stored run stays as the operator sees it.
    return PayoutRun(id=run.id, currency=run.currency, result=own, created_at=run.created_at)


_PARTY_KEYS = ("from_partner_id", "to_partner_id", "partner_id")


def _named(item: dict[str, Any]) -> set[str]:
    return {item[key] for key in _PARTY_KEYS if item.get(key)}


def _participants(run: PayoutRun) -> set[str]:
    """Every partner its transfers, manager payouts and carried amounts name."""
    return {partner for part in run.result.values() for item in part for partner in _named(item)}


async def manager_earnings(
    session: AsyncSession, manager_id: str, partner_id: str | None
) -> ManagerEarnings:
    """What ``manager_id`` has earned from its partner, per currency. Manager ids are scoped
    to the partner that reported them: without ``partner_id`` the manager must exist under
    exactly one partner (a 422 naming ``partner_id`` otherwise); an unknown manager is a 404."""
    partner_ids = await repository.manager_partner_ids(session, manager_id, partner_id)
    if not partner_ids:
        raise NotFound("manager")
    if len(partner_ids) > 1:
        raise InvalidField(
            "partner_id", "this manager id exists under several partners; say which one"
        )
    (owner,) = partner_ids
    totals = await repository.manager_totals(session, manager_id, owner)
    return ManagerEarnings(manager_id, owner, totals)
