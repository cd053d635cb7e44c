"""SQL of the partner health report: aggregated in the database, by when leads were
submitted."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_intake.lifecycle import CONVERTIBLE, WON
from crosslead_intake.models import Lead, LeadOffer

__all__ = ["flows", "won_by_source"]


async def flows(
    session: AsyncSession, since: datetime, partner_id: str | None
) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(source, receiver) → leads sent, accepted and converted: every partner a lead was
    offered to received it; only the one it ended with can have accepted or converted it.
    Only pairs involving ``partner_id`` unless it is ``None``."""
    ended_here = Lead.target_partner_id == LeadOffer.partner_id
    query = (
        select(
            Lead.source_partner_id,
            LeadOffer.partner_id,
            func.count(),
            func.sum(case((ended_here & Lead.status.in_(CONVERTIBLE), 1), else_=0)),
            func.sum(case((ended_here & Lead.status.in_(WON), 1), else_=0)),
        )
        .join(LeadOffer, LeadOffer.lead_id == Lead.id)
        .where(Lead.created_at >= since)
        .group_by(Lead.source_partner_id, LeadOffer.partner_id)
    )
    if partner_id is not None:
        query = query.where(
            or_(Lead.source_partner_id == partner_id, LeadOffer.partner_id == partner_id)
        )
    rows = await session.execute(query)
    return {
        (source, receiver): (int(sent), int(accepted), int(converted))
        for source, receiver, sent, accepted, converted in rows
    }


async def won_by_source(
    session: AsyncSession, since: datetime, partner_id: str | None
) -> dict[str, dict[str, int]]:
    """target → source → leads with a won deal (only ``partner_id`` as target, unless
    ``None``)."""
    query = (
        select(Lead.target_partner_id, Lead.source_partner_id, func.count())
        .where(Lead.created_at >= since, Lead.status.in_(WON))
        .group_by(Lead.target_partner_id, Lead.source_partner_id)
    )
    if partner_id is not None:
        query = query.where(Lead.target_partner_id == partner_id)
    by_source: defaultdict[str, dict[str, int]] = defaultdict(dict)
    for target, source, won in await session.execute(query):
        if target is not None:
            by_source[target][source] = int(won)
    return dict(by_source)
