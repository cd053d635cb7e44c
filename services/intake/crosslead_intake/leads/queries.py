"""SQL of the leads subdomain: leads, their timeline, offers and customer fingerprints."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_intake.models import CustomerFingerprint, Lead, LeadOffer, TimelineEntry

__all__ = [
    "add_fingerprints",
    "add_offer",
    "add_timeline_entry",
    "earliest_match",
    "fingerprints_of",
    "get_lead",
    "timeline",
    "was_offered",
]


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


async def add_offer(
    session: AsyncSession, lead_id: str, partner_id: str, hop: int, at: datetime
) -> None:
    """Remember that the lead was offered to ``partner_id`` (the first offer counts)."""
    if not await was_offered(session, lead_id, partner_id):
        session.add(LeadOffer(lead_id=lead_id, partner_id=partner_id, hop=hop, offered_at=at))


async def earliest_match(
    session: AsyncSession, fingerprints: list[str], need: str, since: datetime
) -> tuple[str, datetime] | None:
    """The earliest lead for ``need`` recorded since ``since`` under any of ``fingerprints``,
    and when it was recorded."""
    row = (
        await session.execute(
            select(CustomerFingerprint.lead_id, CustomerFingerprint.created_at)
            .where(
                CustomerFingerprint.fingerprint.in_(fingerprints),
                CustomerFingerprint.need == need,
                CustomerFingerprint.created_at > since,
            )
            .order_by(CustomerFingerprint.created_at, CustomerFingerprint.lead_id)
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def fingerprints_of(session: AsyncSession, lead_id: str) -> set[str]:
    result = await session.scalars(
        select(CustomerFingerprint.fingerprint).where(CustomerFingerprint.lead_id == lead_id)
    )
    return set(result)


def add_fingerprints(
    session: AsyncSession, lead_id: str, fingerprints: list[str], need: str, at: datetime
) -> None:
    session.add_all(
        CustomerFingerprint(lead_id=lead_id, fingerprint=f, need=need, created_at=at)
        for f in fingerprints
    )
