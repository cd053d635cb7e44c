"""SQL of the leads subdomain: leads, their timeline, offers and customer fingerprints."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_intake.models import CustomerFingerprint, Lead, LeadOffer, TimelineEntry

__all__ = [
    "add_fingerprints",
    "add_offer",
    "add_timeline_entry",
    "earliest_match",
    "fingerprints_of",
    "get_lead",
    "list_leads",
    "status_counts",
    "timeline",
    "timelines",
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


async def list_leads(
    session: AsyncSession,
    *,
    source_partner_id: str | None = None,
    offered_to: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    before: tuple[datetime, str] | None = None,
    limit: int,
) -> Sequence[Lead]:
    """Up to ``limit`` leads, newest first, before ``(created_at, id)``: those ``source_partner_id``
    sent, those offered to ``offered_to``, or all; ``status`` filters on the lead's own
    status (the caller filters a target's view itself)."""
    query = select(Lead)
    if source_partner_id is not None:
        query = query.where(Lead.source_partner_id == source_partner_id)
    if offered_to is not None:
        query = query.join(
            LeadOffer, and_(LeadOffer.lead_id == Lead.id, LeadOffer.partner_id == offered_to)
        )
    if status is not None:
        query = query.where(Lead.status == status)
    if since is not None:
        query = query.where(Lead.created_at >= since)
    if before is not None:
        at, lead_id = before
        query = query.where(
            or_(Lead.created_at < at, and_(Lead.created_at == at, Lead.id < lead_id))
        )
    result = await session.scalars(
        query.order_by(Lead.created_at.desc(), Lead.id.desc()).limit(limit)
    )
    return result.all()


async def timelines(
    session: AsyncSession, lead_ids: Sequence[str]
) -> dict[str, list[TimelineEntry]]:
    """The timelines of ``lead_ids``, each in order."""
    found: dict[str, list[TimelineEntry]] = {lead_id: [] for lead_id in lead_ids}
    if not lead_ids:
        return found
    result = await session.scalars(
        select(TimelineEntry)
        .where(TimelineEntry.lead_id.in_(lead_ids))
        .order_by(TimelineEntry.lead_id, TimelineEntry.at, TimelineEntry.id)
    )
    for entry in result:
        found[entry.lead_id].append(entry)
    return found


async def status_counts(
    session: AsyncSession, since: datetime, source_partner_id: str | None
) -> dict[str, int]:
    """How many leads received since ``since`` (of ``source_partner_id``, or all) have each
    status."""
    query = select(Lead.status, func.count()).where(Lead.created_at >= since)
    if source_partner_id is not None:
        query = query.where(Lead.source_partner_id == source_partner_id)
    rows = await session.execute(query.group_by(Lead.status))
    return {str(row[0]): int(row[1]) for row in rows}
