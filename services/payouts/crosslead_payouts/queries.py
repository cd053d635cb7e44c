"""Read use cases: a partner's statement and a manager's earnings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.errors import Problem
from crosslead_payouts import repository
from crosslead_payouts.ledger import CurrencyTotals, currency_totals
from crosslead_payouts.models import LedgerEntry

__all__ = ["ManagerEarnings", "Statement", "manager_earnings", "statement"]


@dataclass(frozen=True)
class Statement:
    partner_id: str
    totals: list[CurrencyTotals]
    lines: Sequence[LedgerEntry]


@dataclass(frozen=True)
class ManagerEarnings:
    manager_id: str
    partner_id: str
    totals: list[tuple[str, int]]  # (currency, minor units), sorted by currency


async def statement(session: AsyncSession, partner_id: str) -> Statement:
    """Everything on ``partner_id``'s account: totals per currency and every line in time
    order. Raises a 404 problem for a partner this service has never heard of."""
    if not await repository.partner_known(session, partner_id):
        raise Problem.not_found("partner")
    # Totals come from the very lines returned: two queries could see two different moments
    # of the ledger (READ COMMITTED), and a statement must add up.
    lines = await repository.statement_lines(session, partner_id)
    totals = currency_totals((line.currency, line.kind, line.amount_minor) for line in lines)
    return Statement(partner_id, totals, lines)


async def manager_earnings(
    session: AsyncSession, manager_id: str, partner_id: str | None
) -> ManagerEarnings:
    """What ``manager_id`` has earned from its partner, per currency. Manager ids are scoped
    to the partner that reported them: without ``partner_id`` the manager must exist under
    exactly one partner (a 422 naming ``partner_id`` otherwise); an unknown manager is a 404."""
    partner_ids = await repository.manager_partner_ids(session, manager_id, partner_id)
    if not partner_ids:
        raise Problem.not_found("manager")
    if len(partner_ids) > 1:
        raise Problem.invalid(
            "partner_id", "this manager id exists under several partners; say which one"
        )
    (owner,) = partner_ids
    totals = await repository.manager_totals(session, manager_id, owner)
    return ManagerEarnings(manager_id, owner, totals)
