"""Partner health: who sends whom leads, who accepts and converts them, which pairs are
lopsided and which partners live off one source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_intake.reports import queries

__all__ = ["IMBALANCE", "Flow", "Pair", "PartnerHealth", "ReportWindow", "partner_report"]

#: A pair is imbalanced when one side sends more than this many times what the other sends.
IMBALANCE = 3
_RATE = Decimal("0.0001")
_RATIO = Decimal("0.01")


@dataclass(frozen=True)
class Flow:
    sent: int
    accepted: int
    converted: int
    acceptance_rate: Decimal | None
    conversion_rate: Decimal | None


@dataclass(frozen=True)
class Pair:
    partner_a: str
    partner_b: str
    a_to_b: Flow
    b_to_a: Flow
    volume_ratio: Decimal | None
    imbalanced: bool


@dataclass(frozen=True)
class PartnerHealth:
    partner_id: str
    won_deals: int
    top_source_partner_id: str | None
    top_source_deals: int
    agent_like: bool


@dataclass(frozen=True)
class ReportWindow:
    window_days: int
    since: datetime
    pairs: list[Pair]
    partners: list[PartnerHealth]


async def partner_report(
    session: AsyncSession, *, days: int, since: datetime, partner_id: str | None
) -> ReportWindow:
    """Pairs involving ``partner_id`` (all pairs when ``None``) over leads since ``since``; a
    partner sees only its own health (the counts behind it involve its counterparties' other
    partners)."""
    flows = {
        key: _flow(*counts)
        for key, counts in (await queries.flows(session, since, partner_id)).items()
    }
    pairs = {tuple(sorted(pair)) for pair in flows}
    empty = _flow(0, 0, 0)
    return ReportWindow(
        window_days=days,
        since=since,
        pairs=[
            _pair(a, b, flows.get((a, b), empty), flows.get((b, a), empty))
            for a, b in sorted(pairs)
        ],
        partners=[
            _health(target, counts)
            for target, counts in sorted(
                (await queries.won_by_source(session, since, partner_id)).items()
            )
        ],
    )


def _flow(sent: int, accepted: int, converted: int) -> Flow:
    return Flow(
        sent=sent,
        accepted=accepted,
        converted=converted,
        acceptance_rate=_ratio(accepted, sent, _RATE),
        conversion_rate=_ratio(converted, sent, _RATE),
    )


def _pair(a: str, b: str, a_to_b: Flow, b_to_a: Flow) -> Pair:
    low, high = sorted((a_to_b.sent, b_to_a.sent))
    return Pair(
        partner_a=a,
        partner_b=b,
        a_to_b=a_to_b,
        b_to_a=b_to_a,
        volume_ratio=_ratio(high, low, _RATIO),
        imbalanced=high > IMBALANCE * low,
    )


def _health(target: str, counts: dict[str, int]) -> PartnerHealth:
    total = sum(counts.values())
    top = max(sorted(counts), key=counts.__getitem__)
    return PartnerHealth(
        partner_id=target,
        won_deals=total,
        top_source_partner_id=top,
        top_source_deals=counts[top],
        agent_like=2 * counts[top] > total,
    )


def _ratio(part: int, whole: int, places: Decimal) -> Decimal | None:
    return (Decimal(part) / whole).quantize(places) if whole else None
