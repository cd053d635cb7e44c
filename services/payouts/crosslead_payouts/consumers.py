"""Consumer group ``crosslead-payouts``: partners, their status and revoked keys (for API-key
auth) and reported conversions."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.events import (
    ConversionReported,
    Envelope,
    PartnerKeyRevoked,
    PartnerRegistered,
    PartnerStatusChanged,
    Topic,
)
from crosslead_common.kafka import Handlers, InvalidEvent
from crosslead_common.money import MoneyError
from crosslead_payouts import service
from crosslead_payouts.commission import CommissionError

__all__ = ["GROUP_ID", "TOPICS", "handlers"]

GROUP_ID = "crosslead-payouts"
TOPICS = (Topic.PARTNERS, Topic.CONVERSIONS)

handlers = Handlers()


@handlers.on(PartnerRegistered)
async def partner_registered(
    session: AsyncSession, event: PartnerRegistered, envelope: Envelope
) -> None:
    await service.register_partner(session, event)


@handlers.on(PartnerStatusChanged)
async def partner_status_changed(
    session: AsyncSession, event: PartnerStatusChanged, envelope: Envelope
) -> None:
    await service.set_partner_status(session, event)


@handlers.on(PartnerKeyRevoked)
async def partner_key_revoked(
    session: AsyncSession, event: PartnerKeyRevoked, envelope: Envelope
) -> None:
    await service.revoke_key(session, event)


@handlers.on(ConversionReported)
async def conversion_reported(
    session: AsyncSession, event: ConversionReported, envelope: Envelope
) -> None:
    try:
        await service.apply_conversion(session, event, envelope.time)
    except (CommissionError, MoneyError) as exc:
        raise InvalidEvent(str(exc)) from exc
