"""Use cases of the router besides routing itself (:mod:`crosslead_router.routing`): the
partners/agreements projection, webhook endpoints and the deliveries view. Each runs inside the
caller's transaction and never commits."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import request_wakeup, utcnow
from crosslead_common.domain import NotFound
from crosslead_common.events import (
    AgreementCreated,
    AgreementEnded,
    PartnerRegistered,
    PartnerUpdated,
)
from crosslead_router import repository
from crosslead_router.models import Agreement, Delivery, DeliveryAttempt, Partner, WebhookEndpoint
from crosslead_router.signing import new_secret

__all__ = [
    "DEADLINES_WAKEUP",
    "DELIVERIES_WAKEUP",
    "WAITING_WAKEUP",
    "create_endpoint",
    "delete_endpoint",
    "end_agreement",
    "list_deliveries",
    "list_endpoints",
    "record_agreement",
    "record_partner",
    "update_partner",
]

log = logging.getLogger(__name__)

DELIVERIES_WAKEUP = "deliveries"
DEADLINES_WAKEUP = "deadlines"
WAITING_WAKEUP = "waiting"


async def record_partner(session: AsyncSession, event: PartnerRegistered, at: datetime) -> None:
    """Add or refresh a partner in the routing view (and so let its API key in)."""
    row = Partner(
        id=event.partner_id, name=event.name, api_key_hash=event.api_key_hash, registered_at=at
    )
    _apply_settings(row, event)
    await repository.save(session, row)
    await _recheck_waiting(session)


async def update_partner(session: AsyncSession, event: PartnerUpdated) -> None:
    """A partner's routing settings changed (un-paused, more capacity, new hours...)."""
    row = await repository.partner(session, event.partner_id)
    if row is None:
        log.warning("ignoring an update of unknown partner %s", event.partner_id)
        return
    _apply_settings(row, event)
    await _recheck_waiting(session)


def _apply_settings(row: Partner, event: PartnerRegistered | PartnerUpdated) -> None:
    row.offers, row.regions = list(event.offers), list(event.regions)
    row.capacity_per_day, row.capacity_per_hour = event.capacity_per_day, event.capacity_per_hour
    row.availability = event.availability.model_dump(mode="json") if event.availability else None
    row.paused = event.paused


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
            priority=event.priority,
            created_at=at,
        ),
    )
    await _recheck_waiting(session)


async def end_agreement(session: AsyncSession, event: AgreementEnded) -> None:
    """No new leads go out under the agreement; an offer already made under it stands."""
    await repository.remove_agreement(session, event.agreement_id)


async def _recheck_waiting(session: AsyncSession) -> None:
    """A partner may have opened: every waiting lead is looked at again right after commit."""
    await repository.recheck_waiting_now(session, utcnow())
    request_wakeup(session, WAITING_WAKEUP)


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


async def delete_endpoint(session: AsyncSession, partner_id: str, endpoint_id: str) -> None:
    """Deactivate one of the partner's endpoints; ``NotFound`` if it has no such endpoint."""
    endpoint = await repository.active_endpoint(session, partner_id, endpoint_id)
    if endpoint is None:
        raise NotFound(f"webhook endpoint {endpoint_id}")
    endpoint.deleted_at = utcnow()


async def list_deliveries(
    session: AsyncSession, *, partner_id: str | None, lead_id: str | None, limit: int
) -> list[tuple[Delivery, list[DeliveryAttempt]]]:
    """Deliveries addressed to ``partner_id`` (all of them for None), newest first."""
    return await repository.deliveries_with_attempts(
        session, partner_id=partner_id, lead_id=lead_id, limit=limit
    )
