"""Thin event handlers: ``crosslead.partners`` and ``crosslead.leads`` → one service call each.

Events on those topics that are not registered here (the router's own, for instance) are
skipped by the consumer.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.events import (
    AgreementCreated,
    Envelope,
    LeadAccepted,
    LeadReceived,
    LeadRejected,
    PartnerRegistered,
)
from crosslead_common.kafka import Handlers
from crosslead_router import service

__all__ = ["handlers"]

handlers = Handlers()


@handlers.on(PartnerRegistered)
async def on_partner_registered(
    session: AsyncSession, event: PartnerRegistered, envelope: Envelope
) -> None:
    await service.record_partner(session, event, at=envelope.time)


@handlers.on(AgreementCreated)
async def on_agreement_created(
    session: AsyncSession, event: AgreementCreated, envelope: Envelope
) -> None:
    await service.record_agreement(session, event, at=envelope.time)


@handlers.on(LeadReceived)
async def on_lead_received(session: AsyncSession, event: LeadReceived, envelope: Envelope) -> None:
    await service.route_lead(session, event)


@handlers.on(LeadAccepted)
async def on_lead_accepted(session: AsyncSession, event: LeadAccepted, envelope: Envelope) -> None:
    await service.record_answer(session, event.lead_id, event.partner_id, "accepted")


@handlers.on(LeadRejected)
async def on_lead_rejected(session: AsyncSession, event: LeadRejected, envelope: Envelope) -> None:
    await service.record_answer(session, event.lead_id, event.partner_id, "rejected")
