"""All SQL of the intake service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_intake.models import (
    Agreement,
    Conversion,
    IdempotencyKey,
    Lead,
    LeadOffer,
    Partner,
    TimelineEntry,
)


async def partner_id_by_key_hash(session: AsyncSession, key_hash: str) -> str | None:
    result: str | None = await session.scalar(
        select(Partner.id).where(Partner.api_key_hash == key_hash)
    )
    return result


async def get_partner(
    session: AsyncSession, partner_id: str, *, for_update: bool = False
) -> Partner | None:
    return await session.get(Partner, partner_id, with_for_update=for_update)


async def get_agreement(
    session: AsyncSession, agreement_id: str, *, for_update: bool = False
) -> Agreement | None:
    return await session.get(Agreement, agreement_id, with_for_update=for_update)


async def get_lead(session: AsyncSession, lead_id: str, *, for_update: bool = False) -> Lead | None:
    return await session.get(Lead, lead_id, with_for_update=for_update)


async def timeline(session: AsyncSession, lead_id: str) -> Sequence[TimelineEntry]:
    result = await session.scalars(
        select(TimelineEntry)
        .where(TimelineEntry.lead_id == lead_id)
        .order_by(TimelineEntry.at, TimelineEntry.id)
    )
    return result.all()


def add_timeline_entry(
    session: AsyncSession, lead_id: str, type_: str, at: datetime, details: dict[str, Any]
) -> None:
    session.add(TimelineEntry(lead_id=lead_id, type=type_, at=at, details=details))


async def was_offered(session: AsyncSession, lead_id: str, partner_id: str) -> bool:
    return await session.get(LeadOffer, (lead_id, partner_id)) is not None


async def may_be_offered(session: AsyncSession, lead: Lead, partner_id: str) -> bool:
    """Whether an agreement lets the router offer ``lead`` to ``partner_id``."""
    categories = await session.scalars(
        select(Agreement.categories).where(
            Agreement.source_partner_id == lead.source_partner_id,
            Agreement.target_partner_id == partner_id,
            Agreement.ended_at.is_(None),
        )
    )
    return any(lead.need in c for c in categories)


async def add_offer(
    session: AsyncSession, lead_id: str, partner_id: str, hop: int, at: datetime
) -> None:
    """Remember that the lead was offered to ``partner_id`` (the first offer counts)."""
    if not await was_offered(session, lead_id, partner_id):
        session.add(LeadOffer(lead_id=lead_id, partner_id=partner_id, hop=hop, offered_at=at))


async def find_conversion(
    session: AsyncSession, lead_id: str, external_id: str, status: str
) -> Conversion | None:
    result: Conversion | None = await session.scalar(
        select(Conversion).where(
            Conversion.lead_id == lead_id,
            Conversion.external_id == external_id,
            Conversion.status == status,
        )
    )
    return result


async def conversion_totals(session: AsyncSession, lead_id: str) -> dict[tuple[str, str], int]:
    """Sum of reported amounts on a lead by (status, currency), in minor units."""
    rows = await session.execute(
        select(Conversion.status, Conversion.currency, func.sum(Conversion.amount_minor))
        .where(Conversion.lead_id == lead_id)
        .group_by(Conversion.status, Conversion.currency)
    )
    return {(status, currency): int(total) for status, currency, total in rows.all()}


async def get_idempotency_key(
    session: AsyncSession, partner_id: str, endpoint: str, key: str
) -> IdempotencyKey | None:
    return await session.get(IdempotencyKey, (partner_id, endpoint, key))
