"""Use cases of the router besides routing itself (:mod:`crosslead_router.routing`): the
partners/agreements projection and the deliveries view (webhook endpoints:
:mod:`crosslead_router.endpoints`). Each runs inside the
caller's transaction and never commits."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import request_wakeup, utcnow
from crosslead_common.events import (
    AgreementCreated,
    AgreementEnded,
    CustomerErased,
    LeadReceived,
    PartnerKeyRevoked,
    PartnerRegistered,
    PartnerStatusChanged,
    PartnerUpdated,
)
from crosslead_common.partners import ACTIVE, record_key_expiry
from crosslead_router import repository
from crosslead_router.models import (
    Agreement,
    ApiKey,
    CustomerKey,
    Delivery,
    DeliveryAttempt,
    Partner,
)

__all__ = [
    "DEADLINES_WAKEUP",
    "DELIVERIES_WAKEUP",
    "WAITING_WAKEUP",
    "NotRetryable",
    "end_agreement",
    "erase_customer",
    "keep_customer_key",
    "list_deliveries",
    "record_agreement",
    "record_partner",
    "retry_delivery",
    "revoke_key",
    "set_partner_status",
    "update_partner",
]

log = logging.getLogger(__name__)


async def keep_customer_key(session: AsyncSession, lead: LeadReceived) -> None:
    """Keep the router's copy of the data key of the lead's customer, unless that customer
    was erased already (a ``lead.received`` read again never brings a key back)."""
    if await repository.customer_key(session, lead.lead_id) is None:
        session.add(CustomerKey(lead_id=lead.lead_id, data_key=lead.customer.data_key))


async def erase_customer(session: AsyncSession, event: CustomerErased) -> None:
    """Delete the router's copy of the customer's data key for good (a webhook sent from now
    on leaves the customer out) and drop the sealed customer from the lead's offer."""
    key = await repository.customer_key(session, event.lead_id, for_update=True)
    if key is None:
        session.add(CustomerKey(lead_id=event.lead_id, data_key=None, erased_at=utcnow()))
    elif key.data_key is not None:
        key.data_key, key.erased_at = None, utcnow()
    lead = await repository.routed_lead(session, event.lead_id, for_update=True)
    if lead is not None and "customer" in lead.offer:
        lead.offer = {k: v for k, v in lead.offer.items() if k != "customer"}


DELIVERIES_WAKEUP = "deliveries"
DEADLINES_WAKEUP = "deadlines"
WAITING_WAKEUP = "waiting"


async def record_partner(session: AsyncSession, event: PartnerRegistered, at: datetime) -> None:
    """Add or refresh a partner in the routing view (and so let its API key in). A
    registration that would give a known partner another key is refused: logged, ignored."""
    known = await repository.partner(session, event.partner_id)
    if known is not None and known.api_key_hash != event.api_key_hash:
        log.warning(
            "ignoring a registration of known partner %s that would change its API key",
            event.partner_id,
        )
        return
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


async def set_partner_status(session: AsyncSession, event: PartnerStatusChanged) -> None:
    """A disabled partner is no routing candidate and its keys are refused; enabled again,
    the leads waiting for a partner are looked at again."""
    row = await repository.partner(session, event.partner_id)
    if row is None:
        log.warning("ignoring a status change of unknown partner %s", event.partner_id)
        return
    row.status = event.status
    if event.status == ACTIVE:
        await _recheck_waiting(session)


async def revoke_key(session: AsyncSession, event: PartnerKeyRevoked) -> None:
    """The key is refused here from ``expires_at`` on."""
    await record_key_expiry(session, ApiKey, event.partner_id, event.key_id, event.expires_at)


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
            share_contact=event.share_contact,
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


async def list_deliveries(
    session: AsyncSession,
    *,
    partner_id: str | None,
    lead_id: str | None = None,
    endpoint_id: str | None = None,
    status: str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int,
) -> list[tuple[Delivery, list[DeliveryAttempt]]]:
    """Deliveries addressed to ``partner_id`` (all of them for None), newest first, after the
    ``(created_at, id)`` of ``after``, filtered by lead, endpoint and status."""
    return await repository.deliveries_with_attempts(
        session,
        partner_id=partner_id,
        lead_id=lead_id,
        endpoint_id=endpoint_id,
        status=status,
        after=after,
        limit=limit,
    )


class NotRetryable(Exception):
    """The delivery is over (``delivered`` or ``cancelled``): there is nothing to retry."""


async def retry_delivery(
    session: AsyncSession, partner_id: str | None, delivery_id: str
) -> Delivery | None:
    """Make a pending or failed delivery due now; its next attempt sends the same body under
    the same webhook id. None: the caller has no such delivery; :class:`NotRetryable` when it
    is delivered or cancelled."""
    row = await repository.delivery(session, delivery_id, for_update=True)
    if row is None or partner_id not in (None, row.partner_id):
        return None
    if row.status not in ("pending", "failed"):
        raise NotRetryable(f"delivery {delivery_id} is {row.status}")
    row.status, row.next_attempt_at, row.failed_at = "pending", utcnow(), None
    request_wakeup(session, DELIVERIES_WAKEUP)
    return row
