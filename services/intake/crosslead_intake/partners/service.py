"""Use cases of partners. Every change and its event share the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common import events
from crosslead_common.auth import Principal, hash_api_key, new_api_key
from crosslead_common.db import utcnow
from crosslead_common.domain import InvalidField, NotFound
from crosslead_common.ids import new_id
from crosslead_intake.models import Partner, outbox
from crosslead_intake.partners import queries
from crosslead_intake.partners.schemas import PartnerIn, PartnerPatch

__all__ = ["own_partner", "register_partner", "update_partner"]


async def register_partner(
    session: AsyncSession, data: PartnerIn, signing_key: bytes | None = None
) -> tuple[Partner, str]:
    """Create a partner and its API key (signed with ``signing_key``, so every service accepts
    it at once); the key is returned once and only its hash kept."""
    partner_id = new_id("ptr")
    api_key = new_api_key(partner_id, signing_key)
    partner = Partner(
        id=partner_id,
        name=data.name,
        api_key_hash=hash_api_key(api_key),
        created_at=utcnow(),
        **_routing_settings(data.model_dump(mode="json", exclude={"name"})),
    )
    _check_capacities(partner)
    session.add(partner)
    await outbox.add(
        session,
        events.PartnerRegistered.model_validate(
            {**_snapshot(partner), "name": partner.name, "api_key_hash": partner.api_key_hash}
        ),
    )
    return partner, api_key


async def own_partner(
    session: AsyncSession, partner_id: str, principal: Principal, *, for_update: bool = False
) -> Partner:
    """The partner, for the operator or the partner itself; anyone else gets ``NotFound``.
    ``for_update`` locks it, so concurrent changes apply one after the other."""
    partner = await queries.get_partner(session, partner_id, for_update=for_update)
    if partner is None or not principal.can_act_as(partner_id):
        raise NotFound("partner")
    return partner


async def update_partner(session: AsyncSession, partner: Partner, patch: PartnerPatch) -> Partner:
    """Change some of a partner's routing settings and publish all of them as they now stand."""
    for field, value in _routing_settings(
        patch.model_dump(mode="json", exclude_unset=True)
    ).items():
        setattr(partner, field, value)
    _check_capacities(partner)
    await outbox.add(session, events.PartnerUpdated.model_validate(_snapshot(partner)))
    return partner


def _routing_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Routing settings as stored: offers and regions sorted and without repeats."""
    return {
        field: sorted(set(value)) if field in ("offers", "regions") else value
        for field, value in settings.items()
    }


def _check_capacities(partner: Partner) -> None:
    per_day, per_hour = partner.capacity_per_day, partner.capacity_per_hour
    if per_day is not None and per_hour is not None and per_hour > per_day:
        raise InvalidField("capacity_per_hour", "cannot exceed capacity_per_day")


def _snapshot(partner: Partner) -> dict[str, Any]:
    return {
        "partner_id": partner.id,
        "offers": partner.offers,
        "regions": partner.regions,
        "capacity_per_day": partner.capacity_per_day,
        "capacity_per_hour": partner.capacity_per_hour,
        "availability": partner.availability,
        "paused": partner.paused,
        "country": partner.country,
    }
