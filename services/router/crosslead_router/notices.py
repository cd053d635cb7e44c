"""Telling both sides of a lead what happened to it: each fact becomes a signed webhook (a
durable delivery, retried like an offer under one webhook id) to every partner it concerns.
Each runs inside the caller's transaction and never commits.

A notice is queued only for a partner that has an enabled endpoint receiving its type at that
moment (a partner that filtered the type out, or has no endpoint, is not sent it).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import request_wakeup, utcnow
from crosslead_common.events import (
    CommissionAccrued,
    CommissionReversed,
    ConversionReported,
    PayoutSettled,
)
from crosslead_common.observability.tracing import current_traceparent
from crosslead_router import repository
from crosslead_router.models import Delivery
from crosslead_router.offers import webhook_body
from crosslead_router.service import DELIVERIES_WAKEUP
from crosslead_router.signing import new_webhook_id
from crosslead_router.webhooks import (
    CommissionData,
    CommissionReversedData,
    LeadConvertedData,
    PayoutSettledData,
    WebhookData,
)

__all__ = ["commission", "conversion", "notify", "payout_settled"]


async def notify(
    session: AsyncSession, partner_id: str, data: WebhookData, *, lead_id: str | None
) -> Delivery | None:
    """Queue the webhook ``data`` to ``partner_id``; None when it has no endpoint for it."""
    kind = data.webhook_type
    if not await repository.receives(session, partner_id, kind):
        return None
    now = utcnow()
    row = Delivery(
        id=f"dlv_{uuid.uuid4().hex}",
        lead_id=lead_id,
        partner_id=partner_id,
        kind=kind,
        webhook_id=new_webhook_id(),
        body=webhook_body(kind, data.model_dump(mode="json"), now),
        status="pending",
        attempt_count=0,
        next_attempt_at=now,
        created_at=now,
        traceparent=current_traceparent(),
    )
    await repository.add(session, row)
    request_wakeup(session, DELIVERIES_WAKEUP)
    return row


async def _known_lead(session: AsyncSession, lead_id: str) -> str | None:
    """``lead_id`` if the router routed it (deliveries refer to routed leads only)."""
    return lead_id if await repository.routed_lead(session, lead_id) is not None else None


async def conversion(session: AsyncSession, event: ConversionReported) -> None:
    """The source hears of a deal (or a refund) the target reported on its lead."""
    data = LeadConvertedData(
        lead_id=event.lead_id,
        partner_id=event.target_partner_id,
        conversion_id=event.conversion_id,
        status=event.status,
        amount=event.amount,
        currency=event.currency,
    )
    lead_id = await _known_lead(session, event.lead_id)
    await notify(session, event.source_partner_id, data, lead_id=lead_id)


async def commission(session: AsyncSession, event: CommissionAccrued | CommissionReversed) -> None:
    """The source hears of commission accrued or reversed on its lead; the target, which
    reported the deal, of commission accrued."""
    model = CommissionData if isinstance(event, CommissionAccrued) else CommissionReversedData
    data = model(
        lead_id=event.lead_id,
        conversion_id=event.conversion_id,
        source_partner_id=event.source_partner_id,
        target_partner_id=event.target_partner_id,
        commission=event.commission,
        currency=event.currency,
    )
    lead_id = await _known_lead(session, event.lead_id)
    await notify(session, event.source_partner_id, data, lead_id=lead_id)
    if isinstance(event, CommissionAccrued):
        await notify(session, event.target_partner_id, data, lead_id=lead_id)


async def payout_settled(session: AsyncSession, event: PayoutSettled) -> None:
    """The source hears that a payout run settled the commission on its lead."""
    data = PayoutSettledData(
        lead_id=event.lead_id,
        payout_run_id=event.payout_run_id,
        commission=event.commission,
        currency=event.currency,
    )
    lead_id = await _known_lead(session, event.lead_id)
    await notify(session, event.source_partner_id, data, lead_id=lead_id)
