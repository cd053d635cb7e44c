"""All SQL of the router service. Functions take the caller's session; none commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_router.matching import Candidate
from crosslead_router.models import (
    Agreement,
    Base,
    Delivery,
    DeliveryAttempt,
    Partner,
    RoutedLead,
    WebhookEndpoint,
)

OPEN_LEAD_STATES = ("routed", "delivered")


async def add(session: AsyncSession, *rows: Base) -> None:
    """Insert ``rows`` in the order given (parents before the rows that refer to them)."""
    for row in rows:
        session.add(row)
        await session.flush()


# --- the partners/agreements projection ------------------------------------------------------


async def save(session: AsyncSession, row: Partner | Agreement) -> None:
    """Insert or replace a projected row (a re-published event carries the same facts)."""
    await session.merge(row)


async def partner_id_by_key_hash(session: AsyncSession, key_hash: str) -> str | None:
    return await session.scalar(select(Partner.id).where(Partner.api_key_hash == key_hash))


async def candidates(session: AsyncSession, source_partner_id: str) -> list[Candidate]:
    """The agreements of ``source_partner_id`` whose target partner is known."""
    rows = await session.execute(
        select(Agreement, Partner.regions)
        .join(Partner, Partner.id == Agreement.target_partner_id)
        .where(Agreement.source_partner_id == source_partner_id)
    )
    return [
        Candidate(
            agreement_id=a.id,
            source_partner_id=a.source_partner_id,
            target_partner_id=a.target_partner_id,
            categories=frozenset(a.categories),
            target_regions=frozenset(regions),
            accept_within_seconds=a.accept_within_seconds,
            created_at=a.created_at,
        )
        for a, regions in rows
    ]


# --- routed leads -----------------------------------------------------------------------------


async def routed_lead(
    session: AsyncSession, lead_id: str, *, for_update: bool = False
) -> RoutedLead | None:
    query = select(RoutedLead).where(RoutedLead.lead_id == lead_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def leads_past_deadline(
    session: AsyncSession, now: datetime, limit: int
) -> Sequence[RoutedLead]:
    """Open leads whose deadline passed, locked; another replica skips them (PostgreSQL)."""
    return (
        await session.scalars(
            select(RoutedLead)
            .where(RoutedLead.state.in_(OPEN_LEAD_STATES), RoutedLead.accept_by <= now)
            .order_by(RoutedLead.accept_by, RoutedLead.lead_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def next_deadline(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(func.min(RoutedLead.accept_by)).where(RoutedLead.state.in_(OPEN_LEAD_STATES))
    )


# --- webhook endpoints ------------------------------------------------------------------------


async def active_endpoints(session: AsyncSession, partner_id: str) -> Sequence[WebhookEndpoint]:
    """The partner's endpoints, newest first."""
    return (
        await session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.partner_id == partner_id, WebhookEndpoint.deleted_at.is_(None))
            .order_by(WebhookEndpoint.created_at.desc(), WebhookEndpoint.id.desc())
        )
    ).all()


async def active_endpoint(
    session: AsyncSession, partner_id: str, endpoint_id: str
) -> WebhookEndpoint | None:
    return await session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.partner_id == partner_id,
            WebhookEndpoint.deleted_at.is_(None),
        )
    )


# --- deliveries -------------------------------------------------------------------------------


async def lock_due_deliveries(
    session: AsyncSession, now: datetime, limit: int
) -> Sequence[Delivery]:
    # SKIP LOCKED: replicas claiming at the same time take different rows instead of queueing
    # behind each other (SQLite ignores it: it has a single writer anyway).
    return (
        await session.scalars(
            select(Delivery)
            .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def delivery(
    session: AsyncSession, delivery_id: str, *, for_update: bool = False
) -> Delivery | None:
    query = select(Delivery).where(Delivery.id == delivery_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def next_attempt_time(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(Delivery.status == "pending")
    )


async def cancel_pending_deliveries(session: AsyncSession, lead_id: str) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.lead_id == lead_id, Delivery.status == "pending")
        .values(status="cancelled", next_attempt_at=None)
    )


async def deliveries_with_attempts(
    session: AsyncSession, *, partner_id: str | None, lead_id: str | None, limit: int
) -> list[tuple[Delivery, list[DeliveryAttempt]]]:
    """Deliveries (newest first), each with its attempts in the order they were made."""
    query = select(Delivery).order_by(Delivery.created_at.desc(), Delivery.id).limit(limit)
    if partner_id is not None:
        query = query.where(Delivery.partner_id == partner_id)
    if lead_id is not None:
        query = query.where(Delivery.lead_id == lead_id)
    found = (await session.scalars(query)).all()
    attempts: dict[str, list[DeliveryAttempt]] = {d.id: [] for d in found}
    if found:
        for attempt in await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_(attempts))
            .order_by(DeliveryAttempt.id)
        ):
            attempts[attempt.delivery_id].append(attempt)
    return [(d, attempts[d.id]) for d in found]
