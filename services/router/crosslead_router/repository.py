"""All SQL of the router service. Functions take the caller's session; none commits."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.events import Availability
from crosslead_common.partners import DISABLED, key_checker
from crosslead_common.sql import advisory_xact_lock, upsert
from crosslead_router.matching import History, Target
from crosslead_router.models import (
    Agreement,
    ApiKey,
    Base,
    CapacityUsage,
    CustomerKey,
    Decision,
    Delivery,
    DeliveryAttempt,
    Offer,
    Partner,
    RoutedLead,
    WebhookEndpoint,
)

OPEN_LEAD_STATES = ("routed", "delivered")
ANSWERED = ("accepted", "rejected", "expired")
VOLUME_WINDOW = timedelta(days=30)
HISTORY_WINDOW = timedelta(days=90)


async def add(session: AsyncSession, *rows: Base) -> None:
    """Insert ``rows`` in the order given (parents before the rows that refer to them)."""
    for row in rows:
        session.add(row)
        await session.flush()


# --- the partners/agreements projection ------------------------------------------------------


async def save(session: AsyncSession, row: Partner | Agreement) -> None:
    """Insert or replace a projected row (a re-published event carries the same facts)."""
    await session.merge(row)


async def remove_agreement(session: AsyncSession, agreement_id: str) -> None:
    """Drop an ended agreement from the routing view (the offers made under it stay)."""
    await session.execute(delete(Agreement).where(Agreement.id == agreement_id))


async def partner_id_by_key_hash(session: AsyncSession, key_hash: str) -> str | None:
    return await session.scalar(select(Partner.id).where(Partner.api_key_hash == key_hash))


#: A partner's key is refused once it is revoked or its partner disabled (as the events said).
key_usable = key_checker(Partner, ApiKey, unknown_keys_usable=True)


async def partner(session: AsyncSession, partner_id: str) -> Partner | None:
    return await session.get(Partner, partner_id)


async def targets(session: AsyncSession, source_partner_id: str) -> list[Target]:
    """The agreements of ``source_partner_id`` whose target partner is known (plain columns:
    a source may have hundreds, and none of them is changed here)."""
    rows = await session.execute(
        select(
            Agreement.id,
            Agreement.target_partner_id,
            Agreement.categories,
            Agreement.accept_within_seconds,
            Agreement.priority,
            Agreement.created_at,
            Agreement.share_contact,
            Partner.offers,
            Partner.regions,
            Partner.paused,
            Partner.availability,
            Partner.capacity_per_day,
            Partner.capacity_per_hour,
            Partner.status,
        )
        .join(Partner, Partner.id == Agreement.target_partner_id)
        .where(Agreement.source_partner_id == source_partner_id)
    )
    return [
        Target(
            agreement_id=row.id,
            partner_id=row.target_partner_id,
            categories=frozenset(row.categories),
            accept_within_seconds=row.accept_within_seconds,
            priority=row.priority,
            created_at=row.created_at,
            offers=frozenset(row.offers),
            regions=frozenset(row.regions),
            paused=row.paused,
            availability=Availability.model_validate(row.availability)
            if row.availability
            else None,
            capacity_per_day=row.capacity_per_day,
            capacity_per_hour=row.capacity_per_hour,
            disabled=row.status == DISABLED,
            share_contact="on_offer" if row.share_contact == "on_offer" else "on_accept",
        )
        for row in rows
    ]


# --- offers, their history and capacity ------------------------------------------------------


async def offered_partners(session: AsyncSession, lead_id: str) -> frozenset[str]:
    return frozenset(
        await session.scalars(select(Offer.target_partner_id).where(Offer.lead_id == lead_id))
    )


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def histories(
    session: AsyncSession, source_partner_id: str, partner_ids: Collection[str], now: datetime
) -> dict[str, History]:
    """What the router saw of ``partner_ids`` and of the source itself over the last 90 days
    (30 for volume); everyone without offers in that time is missing."""
    everyone = {source_partner_id, *partner_ids}
    since, recent = now - HISTORY_WINDOW, now - VOLUME_WINDOW
    received = await session.execute(
        select(
            Offer.target_partner_id,
            _count(Offer.offered_at >= recent),
            _count(Offer.outcome.in_(ANSWERED)),
            _count(Offer.outcome == "accepted"),
            _count(Offer.converted.is_(True)),
            func.max(Offer.offered_at),
        )
        .where(Offer.target_partner_id.in_(everyone), Offer.offered_at >= since)
        .group_by(Offer.target_partner_id)
    )
    sent = await session.execute(
        select(Offer.source_partner_id, func.count())
        .where(Offer.source_partner_id.in_(everyone), Offer.offered_at >= recent)
        .group_by(Offer.source_partner_id)
    )
    pairs = await session.execute(
        select(Offer.source_partner_id, Offer.target_partner_id, func.count())
        .where(
            Offer.offered_at >= since,
            or_(
                and_(
                    Offer.source_partner_id == source_partner_id,
                    Offer.target_partner_id.in_(partner_ids),
                ),
                and_(
                    Offer.target_partner_id == source_partner_id,
                    Offer.source_partner_id.in_(partner_ids),
                ),
            ),
        )
        .group_by(Offer.source_partner_id, Offer.target_partner_id)
    )
    found: dict[str, dict[str, Any]] = {}
    for partner_id, volume, answered, accepted, converted, last in received:
        found[partner_id] = {
            "volume_30d": volume,
            "answered": answered,
            "accepted": accepted,
            "converted": converted,
            "last_offered_at": last,
        }
    for partner_id, count in sent:
        entry = found.setdefault(partner_id, {})
        entry["volume_30d"] = entry.get("volume_30d", 0) + count
    for src, dst, count in pairs:
        if dst == source_partner_id:
            found.setdefault(src, {})["sent_to_source_90d"] = count
        else:
            found.setdefault(dst, {})["received_from_source_90d"] = count
    return {partner_id: History(**values) for partner_id, values in found.items()}


async def usage(
    session: AsyncSession, partner_ids: Collection[str], windows: Collection[str]
) -> dict[tuple[str, str], int]:
    """Offers counted per (partner, window) among those given."""
    rows = await session.execute(
        select(CapacityUsage.partner_id, CapacityUsage.window, CapacityUsage.used).where(
            CapacityUsage.partner_id.in_(partner_ids), CapacityUsage.window.in_(windows)
        )
    )
    return {(partner_id, window): used for partner_id, window, used in rows}


async def prune_capacity(session: AsyncSession, before: datetime) -> int:
    """Delete the counters of day and hour windows that began before ``before``'s (UTC) day
    and hour; returns how many. Keep ``before`` a day or more in the past: a partner's local
    day runs up to 14 hours behind or ahead of the UTC one."""
    day, hour = f"day:{before.date().isoformat()}", f"hour:{before:%Y-%m-%dT%H}"
    window = CapacityUsage.window
    result = await session.execute(
        delete(CapacityUsage).where(
            or_(
                and_(window.startswith("day:"), window < day),
                and_(window.startswith("hour:"), window < hour),
            )
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def take_capacity(
    session: AsyncSession, partner_id: str, windows: Sequence[tuple[str, int]]
) -> bool:
    """Count one more offer to ``partner_id`` in each window, or in none if any is full.

    Each increment is a conditional UPDATE (``used < limit``), so concurrent routers can never
    push a window past its limit: on PostgreSQL the second UPDATE of a row waits for the first
    transaction and re-checks the condition; on SQLite writers are serialised."""
    for n, (window, limit) in enumerate(windows):
        await session.execute(
            upsert(session, CapacityUsage)
            .values(partner_id=partner_id, window=window, used=0)
            .on_conflict_do_nothing()
        )
        taken = await session.execute(
            _bump(partner_id, window, +1).where(CapacityUsage.used < limit)
        )
        if taken.rowcount == 0:  # type: ignore[attr-defined]
            for earlier, _ in windows[:n]:
                await session.execute(_bump(partner_id, earlier, -1))
            return False
    return True


def _bump(partner_id: str, window: str, by: int) -> Any:
    return (
        update(CapacityUsage)
        .where(CapacityUsage.partner_id == partner_id, CapacityUsage.window == window)
        .values(used=CapacityUsage.used + by)
    )


async def close_offer(session: AsyncSession, lead_id: str, hop: int, outcome: str) -> None:
    await session.execute(
        update(Offer).where(Offer.lead_id == lead_id, Offer.hop == hop).values(outcome=outcome)
    )


async def record_conversion(
    session: AsyncSession, lead_id: str, partner_id: str, *, won: bool
) -> None:
    await session.execute(
        update(Offer)
        .where(
            Offer.lead_id == lead_id,
            Offer.target_partner_id == partner_id,
            Offer.outcome == "accepted",
        )
        .values(converted=won)
    )


async def decisions(session: AsyncSession, lead_id: str) -> Sequence[Decision]:
    return (
        await session.scalars(
            select(Decision).where(Decision.lead_id == lead_id).order_by(Decision.id)
        )
    ).all()


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


async def waiting_leads_due(
    session: AsyncSession, now: datetime, limit: int
) -> Sequence[RoutedLead]:
    """Waiting leads due for another look, locked; another replica skips them (PostgreSQL)."""
    return (
        await session.scalars(
            select(RoutedLead)
            .where(RoutedLead.state == "waiting", RoutedLead.recheck_at <= now)
            .order_by(RoutedLead.recheck_at, RoutedLead.lead_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def next_recheck(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(func.min(RoutedLead.recheck_at)).where(RoutedLead.state == "waiting")
    )


#: Routing a lead reads the view (partners, agreements, endpoints) under this lock shared;
#: a change to the view takes it alone before it wakes the waiting leads. So a lead routed
#: while an agreement is being recorded is either routed with it or woken by it, never
#: parked until its next scheduled look.
ROUTING_VIEW_LOCK = ("crosslead-router", "routing-view")


async def reading_the_routing_view(session: AsyncSession) -> None:
    """Hold the routing view still (against changes, not other readers) until commit."""
    await advisory_xact_lock(session, *ROUTING_VIEW_LOCK, shared=True)


async def recheck_waiting_now(session: AsyncSession, now: datetime) -> None:
    """Make every waiting lead due for another look (something may have opened), once the
    leads being routed against the old view have been parked."""
    await advisory_xact_lock(session, *ROUTING_VIEW_LOCK)
    await session.execute(
        update(RoutedLead).where(RoutedLead.state == "waiting").values(recheck_at=now)
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


async def endpoints(session: AsyncSession, partner_id: str | None) -> Sequence[WebhookEndpoint]:
    """The endpoints of ``partner_id`` (of everyone for None) that are not deleted, newest
    first."""
    query = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.deleted_at.is_(None))
        .order_by(WebhookEndpoint.created_at.desc(), WebhookEndpoint.id.desc())
    )
    if partner_id is not None:
        query = query.where(WebhookEndpoint.partner_id == partner_id)
    return (await session.scalars(query)).all()


async def endpoint(
    session: AsyncSession, endpoint_id: str, *, for_update: bool = False
) -> WebhookEndpoint | None:
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.deleted_at.is_(None)
    )
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def partners_without_endpoint_for(
    session: AsyncSession, partner_ids: Collection[str], event_type: str
) -> frozenset[str]:
    """Those of ``partner_ids`` that have endpoints, none of them enabled for
    ``event_type``."""
    if not partner_ids:
        return frozenset()
    rows = await session.execute(
        select(
            WebhookEndpoint.partner_id, WebhookEndpoint.status, WebhookEndpoint.event_types
        ).where(WebhookEndpoint.partner_id.in_(partner_ids), WebhookEndpoint.deleted_at.is_(None))
    )
    having, reachable = set(), set()
    for partner_id, status, event_types in rows:
        having.add(partner_id)
        if status == "enabled" and (event_types is None or event_type in event_types):
            reachable.add(partner_id)
    return frozenset(having - reachable)


async def receives(session: AsyncSession, partner_id: str, event_type: str) -> bool:
    """Whether the partner has an enabled endpoint that receives ``event_type``."""
    rows = await session.scalars(
        select(WebhookEndpoint.event_types).where(
            WebhookEndpoint.partner_id == partner_id,
            WebhookEndpoint.status == "enabled",
            WebhookEndpoint.deleted_at.is_(None),
        )
    )
    return any(types is None or event_type in types for types in rows)


async def endpoints_answered(session: AsyncSession, endpoint_ids: Sequence[str]) -> None:
    """Attempts at these endpoints succeeded: they are no longer failing."""
    if endpoint_ids:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(endpoint_ids), WebhookEndpoint.failing_since.is_not(None))
            .values(failing_since=None)
        )


async def endpoint_failed(
    session: AsyncSession,
    endpoint_id: str,
    first: datetime,
    last: datetime,
    disable_after: timedelta,
) -> WebhookEndpoint | None:
    """Attempts at the endpoint failed from ``first`` to ``last``. Returns the endpoint if
    that disabled it (all its attempts have failed since ``disable_after`` before ``last``),
    else None."""
    endpoint = await session.get(
        WebhookEndpoint, endpoint_id, with_for_update=True, populate_existing=True
    )
    if endpoint is None or endpoint.deleted_at is not None:
        return None
    if endpoint.failing_since is None:
        endpoint.failing_since = first
    if endpoint.status != "enabled" or endpoint.failing_since > last - disable_after:
        return None
    endpoint.status, endpoint.disabled_reason = "disabled", "failing"
    return endpoint


# --- deliveries -------------------------------------------------------------------------------


#: Deliveries of one partner, kind and endpoint (the one a test event is for, or the last one
#: sent to) go to one endpoint: ``(partner_id, kind, endpoint_id)``.
DeliveryGroup = tuple[str, str, str | None]


def _due(now: datetime) -> ColumnElement[bool]:
    return and_(Delivery.status == "pending", Delivery.next_attempt_at <= now)


async def due_groups(session: AsyncSession, now: datetime) -> list[tuple[DeliveryGroup, int]]:
    """Each group with due deliveries and how many it has, the group with the oldest
    first."""
    oldest = func.min(Delivery.next_attempt_at)
    rows = await session.execute(
        select(Delivery.partner_id, Delivery.kind, Delivery.endpoint_id, func.count())
        .where(_due(now))
        .group_by(Delivery.partner_id, Delivery.kind, Delivery.endpoint_id)
        .order_by(oldest, Delivery.partner_id, Delivery.kind, Delivery.endpoint_id)
    )
    return [((row[0], row[1], row[2]), row[3]) for row in rows]


async def oldest_due(
    session: AsyncSession, now: datetime, wanted: Mapping[DeliveryGroup, int]
) -> list[str]:
    """The ids of the ``wanted[group]`` oldest due deliveries of each group, in one
    statement."""
    parts = []
    for (partner_id, kind, endpoint_id), count in wanted.items():
        same_endpoint = (
            Delivery.endpoint_id.is_(None)
            if endpoint_id is None
            else Delivery.endpoint_id == endpoint_id
        )
        oldest = (
            select(Delivery.id)
            .where(_due(now), Delivery.partner_id == partner_id, Delivery.kind == kind)
            .where(same_endpoint)
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(count)
            .subquery()
        )
        parts.append(select(oldest.c.id))
    if not parts:
        return []
    return list(await session.scalars(union_all(*parts)))


async def endpoints_of(
    session: AsyncSession, partner_ids: Collection[str]
) -> dict[str, list[WebhookEndpoint]]:
    """The endpoints of each of ``partner_ids`` that are not deleted, newest first."""
    found: dict[str, list[WebhookEndpoint]] = {partner_id: [] for partner_id in partner_ids}
    if partner_ids:
        rows = await session.scalars(
            select(WebhookEndpoint)
            .where(
                WebhookEndpoint.partner_id.in_(sorted(partner_ids)),
                WebhookEndpoint.deleted_at.is_(None),
            )
            .order_by(WebhookEndpoint.created_at.desc(), WebhookEndpoint.id.desc())
        )
        for endpoint in rows:
            found[endpoint.partner_id].append(endpoint)
    return found


DUE_COLUMNS = (
    Delivery.id,
    Delivery.lead_id,
    Delivery.partner_id,
    Delivery.kind,
    Delivery.endpoint_id,
    Delivery.webhook_id,
    Delivery.body,
    Delivery.attempt_count,
    Delivery.traceparent,
)


async def lock_due(
    session: AsyncSession, delivery_ids: Collection[str], now: datetime
) -> Sequence[Any]:
    """The rows (:data:`DUE_COLUMNS`) of those of ``delivery_ids`` that are still due, locked.
    SKIP LOCKED: replicas claiming at the same time take different rows instead of queueing
    behind each other (SQLite ignores it: it has a single writer anyway). The rows are checked
    again under the lock: another replica may have just claimed them."""
    if not delivery_ids:
        return []
    result = await session.execute(
        select(*DUE_COLUMNS)
        .where(Delivery.id.in_(sorted(delivery_ids)), _due(now))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .with_for_update(skip_locked=True)
    )
    return result.all()


async def lease(
    session: AsyncSession, endpoints: Mapping[str, str | None], until: datetime
) -> None:
    """Push the next attempt of the deliveries to ``until``, and note the endpoint each one
    goes to now (``endpoints[delivery_id]``; None: none, it keeps the one it had), in one
    statement."""
    if not endpoints:
        return
    table = cast(Table, Delivery.__table__)
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            next_attempt_at=bindparam("b_until", type_=table.c.next_attempt_at.type),
            endpoint_id=func.coalesce(bindparam("b_endpoint_id"), table.c.endpoint_id),
        ),
        [
            {"b_id": delivery_id, "b_until": until, "b_endpoint_id": endpoint_id}
            for delivery_id, endpoint_id in endpoints.items()
        ],
    )


async def routed_leads(
    session: AsyncSession, lead_ids: Sequence[str], *, for_update: bool = False
) -> dict[str, RoutedLead]:
    if not lead_ids:
        return {}
    query = select(RoutedLead).where(RoutedLead.lead_id.in_(lead_ids)).order_by(RoutedLead.lead_id)
    if for_update:
        query = query.with_for_update()
    return {row.lead_id: row for row in await session.scalars(query)}


STATE_COLUMNS = (
    Delivery.id,
    Delivery.lead_id,
    Delivery.partner_id,
    Delivery.kind,
    Delivery.webhook_id,
    Delivery.status,
    Delivery.attempt_count,
    Delivery.next_attempt_at,
    Delivery.last_error,
    Delivery.delivered_at,
    Delivery.failed_at,
)


async def delivery_states(session: AsyncSession, delivery_ids: Sequence[str]) -> Sequence[Any]:
    """The rows (:data:`STATE_COLUMNS`) of ``delivery_ids``, locked, in id order."""
    if not delivery_ids:
        return []
    result = await session.execute(
        select(*STATE_COLUMNS)
        .where(Delivery.id.in_(delivery_ids))
        .order_by(Delivery.id)
        .with_for_update()
    )
    return result.all()


async def add_attempts(session: AsyncSession, attempts: Sequence[Mapping[str, Any]]) -> None:
    """Log attempts (``delivery_id, at, url, status_code, error, duration_ms`` each) in one
    statement."""
    if attempts:
        await session.execute(insert(cast(Table, DeliveryAttempt.__table__)), list(attempts))


async def save_delivery_states(session: AsyncSession, states: Sequence[Mapping[str, Any]]) -> None:
    """Write what attempts made of deliveries (``id`` and the new ``status, attempt_count,
    next_attempt_at, last_error, delivered_at, failed_at`` each) in one statement."""
    if not states:
        return
    table = cast(Table, Delivery.__table__)
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            status=bindparam("b_status"),
            attempt_count=bindparam("b_attempt_count"),
            next_attempt_at=bindparam("b_next_attempt_at"),
            last_error=bindparam("b_last_error"),
            delivered_at=bindparam("b_delivered_at"),
            failed_at=bindparam("b_failed_at"),
        ),
        [{f"b_{name}": value for name, value in state.items()} for state in states],
    )


async def delivery(
    session: AsyncSession, delivery_id: str, *, for_update: bool = False
) -> Delivery | None:
    query = select(Delivery).where(Delivery.id == delivery_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def next_attempt_time(session: AsyncSession, after: datetime) -> datetime | None:
    """When the earliest pending delivery due later than ``after`` is due."""
    return await session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(
            Delivery.status == "pending", Delivery.next_attempt_at > after
        )
    )


async def cancel_pending_offers(session: AsyncSession, lead_id: str) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.lead_id == lead_id, Delivery.kind == "offer", Delivery.status == "pending")
        .values(status="cancelled", next_attempt_at=None)
    )


async def deliveries_with_attempts(
    session: AsyncSession,
    *,
    partner_id: str | None,
    lead_id: str | None = None,
    endpoint_id: str | None = None,
    status: str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int,
) -> list[tuple[Delivery, list[DeliveryAttempt]]]:
    """Deliveries (newest first, those after the ``(created_at, id)`` of ``after``), each with
    its attempts in the order they were made."""
    query = select(Delivery).order_by(Delivery.created_at.desc(), Delivery.id.desc()).limit(limit)
    if partner_id is not None:
        query = query.where(Delivery.partner_id == partner_id)
    if lead_id is not None:
        query = query.where(Delivery.lead_id == lead_id)
    if endpoint_id is not None:
        query = query.where(Delivery.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(Delivery.status == status)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(Delivery.created_at < at, and_(Delivery.created_at == at, Delivery.id < last_id))
        )
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


async def reschedule_failed(
    session: AsyncSession, endpoint_id: str, since: datetime, now: datetime
) -> int:
    """Make every delivery to the endpoint that failed since ``since`` due again at ``now``;
    returns how many."""
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.endpoint_id == endpoint_id,
            Delivery.status == "failed",
            Delivery.failed_at >= since,
        )
        .values(status="pending", next_attempt_at=now, failed_at=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def customer_key(
    session: AsyncSession, lead_id: str, *, for_update: bool = False
) -> CustomerKey | None:
    return await session.get(CustomerKey, lead_id, with_for_update=for_update)


async def data_keys(session: AsyncSession, lead_ids: Collection[str]) -> dict[str, str | None]:
    """The data key of each lead's customer the router holds (None once erased)."""
    if not lead_ids:
        return {}
    rows = await session.execute(
        select(CustomerKey.lead_id, CustomerKey.data_key).where(
            CustomerKey.lead_id.in_(sorted(lead_ids))
        )
    )
    return {lead_id: data_key for lead_id, data_key in rows.all()}


# --- endpoint health --------------------------------------------------------------------------


def _succeeded() -> ColumnElement[bool]:
    return and_(DeliveryAttempt.status_code >= 200, DeliveryAttempt.status_code < 300)


def _failed() -> ColumnElement[bool]:
    return or_(DeliveryAttempt.status_code.is_(None), ~_succeeded())


async def attempt_stats(
    session: AsyncSession, endpoint_ids: Collection[str], since: datetime
) -> dict[str, tuple[int, int, datetime | None, datetime | None]]:
    """Per endpoint, its attempts made since ``since``: ``(attempts, failed, last attempt at,
    last success at)``."""
    if not endpoint_ids:
        return {}
    rows = await session.execute(
        select(
            Delivery.endpoint_id,
            func.count(DeliveryAttempt.id),
            _count(_failed()),
            func.max(DeliveryAttempt.at),
            func.max(case((_succeeded(), DeliveryAttempt.at))),
        )
        .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
        .where(Delivery.endpoint_id.in_(endpoint_ids), DeliveryAttempt.at >= since)
        .group_by(Delivery.endpoint_id)
    )
    return {str(e): (int(n), int(failed or 0), last, ok) for e, n, failed, last, ok in rows}


async def last_failures(
    session: AsyncSession, endpoint_ids: Collection[str], since: datetime
) -> dict[str, DeliveryAttempt]:
    """Per endpoint, its newest failed attempt since ``since``."""
    if not endpoint_ids:
        return {}
    newest = (
        select(Delivery.endpoint_id, func.max(DeliveryAttempt.id).label("attempt_id"))
        .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
        .where(Delivery.endpoint_id.in_(endpoint_ids), DeliveryAttempt.at >= since, _failed())
        .group_by(Delivery.endpoint_id)
        .subquery()
    )
    rows = await session.execute(
        select(newest.c.endpoint_id, DeliveryAttempt).join(
            DeliveryAttempt, DeliveryAttempt.id == newest.c.attempt_id
        )
    )
    return {str(endpoint_id): attempt for endpoint_id, attempt in rows}


async def open_delivery_counts(
    session: AsyncSession, endpoint_ids: Collection[str]
) -> dict[tuple[str, str], int]:
    """``(endpoint id, status)`` → how many of its deliveries are ``pending`` or ``failed``."""
    if not endpoint_ids:
        return {}
    rows = await session.execute(
        select(Delivery.endpoint_id, Delivery.status, func.count())
        .where(Delivery.endpoint_id.in_(endpoint_ids), Delivery.status.in_(("pending", "failed")))
        .group_by(Delivery.endpoint_id, Delivery.status)
    )
    return {(str(e), str(s)): int(n) for e, s, n in rows}
