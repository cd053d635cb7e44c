"""Partner health: who sends whom leads, who accepts and converts them, which pairs are
lopsided and which partners live off one source. Aggregated in SQL, by when leads were
submitted."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_intake.api.schemas import FlowOut, PairOut, PartnerHealthOut, ReportWindowOut
from crosslead_intake.lifecycle import CONVERTIBLE, WON
from crosslead_intake.models import Lead, LeadOffer

__all__ = ["IMBALANCE", "partner_report"]

#: A pair is imbalanced when one side sends more than this many times what the other sends.
IMBALANCE = 3
_RATE = Decimal("0.0001")
_RATIO = Decimal("0.01")


async def partner_report(
    session: AsyncSession, *, days: int, since: datetime, partner_id: str | None
) -> ReportWindowOut:
    """Pairs involving ``partner_id`` (all pairs when ``None``) over leads since ``since``."""
    flows = await _flows(session, since, partner_id)
    pairs = {tuple(sorted(pair)) for pair in flows}
    empty = FlowOut(sent=0, accepted=0, converted=0, acceptance_rate=None, conversion_rate=None)
    return ReportWindowOut(
        window_days=days,
        since=since,
        pairs=[
            _pair(a, b, flows.get((a, b), empty), flows.get((b, a), empty))
            for a, b in sorted(pairs)
        ],
        partners=await _health(session, since, partner_id),
    )


async def _flows(
    session: AsyncSession, since: datetime, partner_id: str | None
) -> dict[tuple[str, str], FlowOut]:
    """(source, receiver) → what the source sent the receiver: every partner a lead was
    offered to received it; only the one it ended with can have accepted or converted it."""
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
        (source, receiver): FlowOut(
            sent=sent,
            accepted=int(accepted),
            converted=int(converted),
            acceptance_rate=_ratio(int(accepted), sent, _RATE),
            conversion_rate=_ratio(int(converted), sent, _RATE),
        )
        for source, receiver, sent, accepted, converted in rows
    }


def _pair(a: str, b: str, a_to_b: FlowOut, b_to_a: FlowOut) -> PairOut:
    low, high = sorted((a_to_b.sent, b_to_a.sent))
    return PairOut(
        partner_a=a,
        partner_b=b,
        a_to_b=a_to_b,
        b_to_a=b_to_a,
        volume_ratio=_ratio(high, low, _RATIO),
        imbalanced=high > IMBALANCE * low,
    )


async def _health(
    session: AsyncSession, since: datetime, partner_id: str | None
) -> list[PartnerHealthOut]:
    """Per partner that won deals: how many, and whether most came from one source. A partner
    sees only itself (the counts behind it involve its counterparties' other partners)."""
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
            by_source[target][source] = won
    health = []
    for target, counts in sorted(by_source.items()):
        total = sum(counts.values())
        top = max(sorted(counts), key=counts.__getitem__)
        health.append(
            PartnerHealthOut(
                partner_id=target,
                won_deals=total,
                top_source_partner_id=top,
                top_source_deals=counts[top],
                agent_like=2 * counts[top] > total,
            )
        )
    return health


def _ratio(part: int, whole: int, places: Decimal) -> Decimal | None:
    return (Decimal(part) / whole).quantize(places) if whole else None
