"""Use cases of the router: the projection, routing a lead, partners' answers, endpoints and
the deliveries view. Each runs inside the caller's transaction and never commits."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import request_wakeup, utcnow
from crosslead_common.events import (
    AgreementCreated,
    LeadReceived,
    LeadRouted,
    LeadUnroutable,
    PartnerRegistered,
)
from crosslead_router import repository
from crosslead_router.matching import LeadToRoute, Match, NoMatch, match
from crosslead_router.models import (
    Agreement,
    Delivery,
    DeliveryAttempt,
    Partner,
    RoutedLead,
    WebhookEndpoint,
    outbox,
)
from crosslead_router.offers import offer_body, offer_data
from crosslead_router.signing import new_secret, new_webhook_id

__all__ = [
    "DEADLINES_WAKEUP",
    "DELIVERIES_WAKEUP",
    "create_endpoint",
    "delete_endpoint",
    "list_deliveries",
    "list_endpoints",
    "record_agreement",
    "record_answer",
    "record_partner",
    "route_lead",
]

log = logging.getLogger(__name__)

DELIVERIES_WAKEUP = "deliveries"
DEADLINES_WAKEUP = "deadlines"


async def record_partner(session: AsyncSession, event: PartnerRegistered, at: datetime) -> None:
    """Add or refresh a partner in the routing view (and so let its API key in)."""
    await repository.save(
        session,
        Partner(
            id=event.partner_id,
            name=event.name,
            offers=list(event.offers),
            regions=list(event.regions),
            capacity_per_day=event.capacity_per_day,
            api_key_hash=event.api_key_hash,
            registered_at=at,
        ),
    )


async def record_agreement(session: AsyncSession, event: AgreementCreated, at: datetime) -> None:
    """Add an agreement to the routing view; ``at`` (when it was made) orders the choice."""
    await repository.save(
        session,
        Agreement(
            id=event.agreement_id,
            source_partner_id=event.source_partner_id,
            target_partner_id=event.target_partner_id,
            categories=list(event.categories),
            accept_within_seconds=event.accept_within_seconds,
            created_at=at,
        ),
    )


async def route_lead(session: AsyncSession, lead: LeadReceived) -> Match | NoMatch | None:
    """Match a received lead and schedule its delivery (LeadRouted), or publish why no
    partner can take it (LeadUnroutable). None if the lead was routed before."""
    if await repository.routed_lead(session, lead.lead_id) is not None:
        return None
    decision = match(
        LeadToRoute(lead.source_partner_id, lead.need, lead.region),
        await repository.candidates(session, lead.source_partner_id),
    )
    if isinstance(decision, NoMatch):
        await outbox.add(session, LeadUnroutable(lead_id=lead.lead_id, reason=decision.reason))
        return decision
    await _offer(session, lead, decision)
    return decision


async def _offer(session: AsyncSession, lead: LeadReceived, decision: Match) -> None:
    """Store the routed lead and its pending delivery, whose body (and webhook id) every
    attempt will send unchanged; the dispatcher and deadline watcher are woken on commit."""
    now = utcnow()
    accept_by = now + timedelta(seconds=decision.accept_within_seconds)
    data = offer_data(lead)
    routed = RoutedLead(
        lead_id=lead.lead_id,
        source_partner_id=lead.source_partner_id,
        target_partner_id=decision.target_partner_id,
        agreement_id=decision.agreement_id,
        need=lead.need,
        region=lead.region,
        offer=data,
        state="routed",
        accept_by=accept_by,
        routed_at=now,
    )
    pending = Delivery(
        id=f"dlv_{uuid.uuid4().hex}",
        lead_id=lead.lead_id,
        partner_id=decision.target_partner_id,
        webhook_id=new_webhook_id(),
        body=offer_body(data, accept_by=accept_by, now=now),
        status="pending",
        attempt_count=0,
        next_attempt_at=now,
        created_at=now,
    )
    await repository.add(session, routed, pending)
    await outbox.add(
        session,
        LeadRouted(
            lead_id=lead.lead_id,
            source_partner_id=lead.source_partner_id,
            target_partner_id=decision.target_partner_id,
            agreement_id=decision.agreement_id,
            accept_by=accept_by,
        ),
    )
    request_wakeup(session, DELIVERIES_WAKEUP)
    request_wakeup(session, DEADLINES_WAKEUP)


async def record_answer(
    session: AsyncSession,
    lead_id: str,
    partner_id: str,
    answer: Literal["accepted", "rejected"],
) -> None:
    """The target partner accepted or rejected the lead: it no longer expires, and a
    delivery still being retried is called off."""
    lead = await repository.routed_lead(session, lead_id, for_update=True)
    if lead is None or lead.target_partner_id != partner_id:
        log.warning("ignoring %s of lead %s by %s: not routed there", answer, lead_id, partner_id)
        return
    if lead.state not in repository.OPEN_LEAD_STATES:
        log.warning("ignoring %s of lead %s: it is already %s", answer, lead_id, lead.state)
        return
    lead.state = answer
    await repository.cancel_pending_deliveries(session, lead_id)


async def create_endpoint(
    session: AsyncSession, partner_id: str, url: str, description: str | None
) -> WebhookEndpoint:
    """Save a webhook endpoint with a fresh signing secret. The URL must have passed
    :func:`crosslead_router.urls.check_url` (outside the transaction: it resolves DNS)."""
    endpoint = WebhookEndpoint(
        id=f"we_{uuid.uuid4().hex}",
        partner_id=partner_id,
        url=url,
        description=description,
        secret=new_secret(),
        created_at=utcnow(),
        deleted_at=None,
    )
    await repository.add(session, endpoint)
    return endpoint


async def list_endpoints(session: AsyncSession, partner_id: str) -> list[WebhookEndpoint]:
    """The partner's active endpoints, newest (the one deliveries go to) first."""
    return list(await repository.active_endpoints(session, partner_id))


async def delete_endpoint(session: AsyncSession, partner_id: str, endpoint_id: str) -> bool:
    """Deactivate one of the partner's endpoints; False if it has no such endpoint."""
    endpoint = await repository.active_endpoint(session, partner_id, endpoint_id)
    if endpoint is None:
        return False
    endpoint.deleted_at = utcnow()
    return True


async def list_deliveries(
    session: AsyncSession, *, partner_id: str | None, lead_id: str | None, limit: int
) -> list[tuple[Delivery, list[DeliveryAttempt]]]:
    """Deliveries addressed to ``partner_id`` (all of them for None), newest first."""
    return await repository.deliveries_with_attempts(
        session, partner_id=partner_id, lead_id=lead_id, limit=limit
    )
