"""Thin event handlers: ``crosslead.partners``, ``crosslead.leads``, ``crosslead.conversions``
and ``crosslead.commissions`` → one use case each (a conversion also becomes a notice).

Events on those topics that are not registered here (the router's own, for instance) are
skipped by the consumer. Intake publishes ``lead.duplicate`` instead of ``lead.received`` for a
lead it recognises, so a duplicate never reaches routing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.events import (
    AgreementCreated,
    AgreementEnded,
    CommissionAccrued,
    CommissionReversed,
    ConversionReported,
    CustomerErased,
    Envelope,
    LeadAccepted,
    LeadReceived,
    LeadRejected,
    PartnerKeyRevoked,
    PartnerRegistered,
    PartnerStatusChanged,
    PartnerUpdated,
    PayoutSettled,
)
from crosslead_common.kafka import Handlers
from crosslead_router import notices, routing, service
from crosslead_router.routing import RoutingPolicy

__all__ = ["handlers"]


def handlers(policy: RoutingPolicy) -> Handlers:
    """The router's handlers, routing by ``policy``."""
    on = Handlers()

    @on.on(PartnerRegistered)
    async def partner_registered(
        session: AsyncSession, event: PartnerRegistered, envelope: Envelope
    ) -> None:
        await service.record_partner(session, event, at=envelope.time)

    @on.on(PartnerUpdated)
    async def partner_updated(
        session: AsyncSession, event: PartnerUpdated, envelope: Envelope
    ) -> None:
        await service.update_partner(session, event)

    @on.on(PartnerStatusChanged)
    async def partner_status_changed(
        session: AsyncSession, event: PartnerStatusChanged, envelope: Envelope
    ) -> None:
        await service.set_partner_status(session, event)

    @on.on(PartnerKeyRevoked)
    async def partner_key_revoked(
        session: AsyncSession, event: PartnerKeyRevoked, envelope: Envelope
    ) -> None:
        await service.revoke_key(session, event)

    @on.on(AgreementCreated)
    async def agreement_created(
        session: AsyncSession, event: AgreementCreated, envelope: Envelope
    ) -> None:
        await service.record_agreement(session, event, at=envelope.time)

    @on.on(AgreementEnded)
    async def agreement_ended(
        session: AsyncSession, event: AgreementEnded, envelope: Envelope
    ) -> None:
        await service.end_agreement(session, event)

    @on.on(LeadReceived)
    async def lead_received(session: AsyncSession, event: LeadReceived, envelope: Envelope) -> None:
        await service.keep_customer_key(session, event)
        await routing.route_lead(session, event, policy)

    @on.on(CustomerErased)
    async def customer_erased(
        session: AsyncSession, event: CustomerErased, envelope: Envelope
    ) -> None:
        await service.erase_customer(session, event)

    @on.on(LeadAccepted)
    async def lead_accepted(session: AsyncSession, event: LeadAccepted, envelope: Envelope) -> None:
        await routing.record_answer(session, event.lead_id, event.partner_id, "accepted", policy)

    @on.on(LeadRejected)
    async def lead_rejected(session: AsyncSession, event: LeadRejected, envelope: Envelope) -> None:
        await routing.record_answer(
            session, event.lead_id, event.partner_id, "rejected", policy, reason=event.reason
        )

    @on.on(ConversionReported)
    async def conversion_reported(
        session: AsyncSession, event: ConversionReported, envelope: Envelope
    ) -> None:
        await routing.record_conversion(session, event)
        await notices.conversion(session, event)

    @on.on(CommissionAccrued)
    async def commission_accrued(
        session: AsyncSession, event: CommissionAccrued, envelope: Envelope
    ) -> None:
        await notices.commission(session, event)

    @on.on(CommissionReversed)
    async def commission_reversed(
        session: AsyncSession, event: CommissionReversed, envelope: Envelope
    ) -> None:
        await notices.commission(session, event)

    @on.on(PayoutSettled)
    async def payout_settled(
        session: AsyncSession, event: PayoutSettled, envelope: Envelope
    ) -> None:
        await notices.payout_settled(session, event)

    return on
