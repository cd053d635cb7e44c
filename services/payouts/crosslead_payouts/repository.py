"""All SQL of the payouts service."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_payouts.ledger import Entry, Kind
from crosslead_payouts.models import Conversion, LeadCommission, LedgerEntry, Partner

__all__ = [
    "add_conversion",
    "add_entries",
    "add_lead_commission",
    "conversion_applied",
    "get_lead_commission",
    "manager_partner_ids",
    "manager_totals",
    "partner_id_by_key_hash",
    "partner_known",
    "save_partner",
    "statement_lines",
]


async def partner_id_by_key_hash(session: AsyncSession, key_hash: str) -> str | None:
    result: str | None = await session.scalar(
        select(Partner.id).where(Partner.api_key_hash == key_hash)
    )
    return result


async def save_partner(
    session: AsyncSession, partner_id: str, name: str, api_key_hash: str, at: datetime
) -> None:
    partner = await session.get(Partner, partner_id, with_for_update=True)
    if partner is None:
        session.add(Partner(id=partner_id, name=name, api_key_hash=api_key_hash, registered_at=at))
    else:
        partner.name = name
        partner.api_key_hash = api_key_hash


async def partner_known(session: AsyncSession, partner_id: str) -> bool:
    """A registered partner, or one the ledger has entries for (its registration may lag)."""
    registered = exists().where(Partner.id == partner_id)
    booked = exists().where(LedgerEntry.partner_id == partner_id)
    return bool(await session.scalar(select(registered | booked)))


async def conversion_applied(session: AsyncSession, conversion_id: str) -> bool:
    return await session.get(Conversion, conversion_id) is not None


async def get_lead_commission(
    session: AsyncSession, lead_id: str, currency: str
) -> LeadCommission | None:
    """The lead's running totals, locked until the transaction ends."""
    return await session.get(LeadCommission, (lead_id, currency), with_for_update=True)


def add_lead_commission(session: AsyncSession, row: LeadCommission) -> LeadCommission:
    session.add(row)
    return row


def add_conversion(session: AsyncSession, conversion: Conversion) -> None:
    session.add(conversion)


def add_entries(
    session: AsyncSession,
    conversion_id: str,
    lead_id: str,
    entries: Iterable[Entry],
    at: datetime,
) -> None:
    session.add_all(
        LedgerEntry(
            conversion_id=conversion_id,
            lead_id=lead_id,
            partner_id=entry.partner_id,
            counterparty_partner_id=entry.counterparty_partner_id,
            kind=entry.kind.value,
            manager_id=entry.manager_id,
            amount_minor=entry.amount_minor,
            currency=entry.currency,
            created_at=at,
        )
        for entry in entries
    )


async def statement_lines(session: AsyncSession, partner_id: str) -> Sequence[LedgerEntry]:
    result = await session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.partner_id == partner_id)
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    )
    return result.all()


async def manager_partner_ids(
    session: AsyncSession, manager_id: str, partner_id: str | None = None
) -> list[str]:
    """The source partners under which ``manager_id`` referred leads that won deals."""
    query = select(LeadCommission.source_partner_id).where(LeadCommission.manager_id == manager_id)
    if partner_id is not None:
        query = query.where(LeadCommission.source_partner_id == partner_id)
    result = await session.scalars(query.distinct().order_by(LeadCommission.source_partner_id))
    return list(result.all())


async def manager_totals(
    session: AsyncSession, manager_id: str, partner_id: str
) -> list[tuple[str, int]]:
    """``(currency, total)`` payable to a manager by its partner, sorted by currency."""
    rows = await session.execute(
        select(LedgerEntry.currency, func.sum(LedgerEntry.amount_minor))
        .where(
            LedgerEntry.partner_id == partner_id,
            LedgerEntry.manager_id == manager_id,
            LedgerEntry.kind == Kind.MANAGER_PAYABLE.value,
        )
        .group_by(LedgerEntry.currency)
        .order_by(LedgerEntry.currency)
    )
    return [(currency, int(total)) for currency, total in rows.all()]
