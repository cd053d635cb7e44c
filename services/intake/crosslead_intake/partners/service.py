"""Use cases of partners. Every change and its event share the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common import events
from crosslead_common.auth import Principal, hash_api_key, key_id_of, new_api_key
from crosslead_common.db import utcnow
from crosslead_common.domain import Forbidden, InvalidField, NotFound
from crosslead_common.ids import new_id
from crosslead_common.partners import ACTIVE
from crosslead_intake.models import ApiKey, Partner, outbox
from crosslead_intake.partners import queries
from crosslead_intake.partners.schemas import PartnerIn, PartnerPatch

__all__ = [
    "issue_key",
    "keys_of",
    "own_partner",
    "register_partner",
    "revoke_key",
    "update_partner",
]


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
        status=ACTIVE,
        created_at=utcnow(),
        **_routing_settings(data.model_dump(mode="json", exclude={"name"})),
    )
    _check_capacities(partner)
    session.add(partner)
    _add_key(session, partner_id, api_key, partner.created_at)
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


async def update_partner(
    session: AsyncSession, partner: Partner, patch: PartnerPatch, principal: Principal
) -> Partner:
    """Change some of a partner's routing settings and publish all of them as they now stand;
    a change of ``status`` (the operator's only) is published as ``PartnerStatusChanged``."""
    changes = patch.model_dump(mode="json", exclude_unset=True)
    status = changes.pop("status", None)
    if status is not None and not principal.is_admin:
        raise Forbidden("only the operator changes a partner's status")
    if changes or status is None:
        for field, value in _routing_settings(changes).items():
            setattr(partner, field, value)
        _check_capacities(partner)
        await outbox.add(session, events.PartnerUpdated.model_validate(_snapshot(partner)))
    if status is not None and status != partner.status:
        partner.status = status
        await outbox.add(session, events.PartnerStatusChanged(partner_id=partner.id, status=status))
    return partner


async def issue_key(
    session: AsyncSession,
    partner: Partner,
    previous_valid_for: timedelta,
    signing_key: bytes | None = None,
) -> tuple[ApiKey, str]:
    """A new API key for the partner (returned once, only its hash kept); each of its other
    keys still working stops ``previous_valid_for`` from now (or earlier, if it already
    would), and every service hears of it. The caller locks the partner, so two rotations
    apply one after the other."""
    now = utcnow()
    until = now + previous_valid_for
    for key in await queries.keys_of(session, partner.id):
        if key.expires_at is None or key.expires_at > until:
            await _expire(session, key, until)
    api_key = new_api_key(partner.id, signing_key)
    return _add_key(session, partner.id, api_key, now), api_key


async def keys_of(session: AsyncSession, partner: Partner) -> Sequence[ApiKey]:
    return await queries.keys_of(session, partner.id)


async def revoke_key(session: AsyncSession, partner: Partner, key_id: str) -> None:
    """Revoke one of the partner's keys at once, on every service; another partner's key, or
    one unknown, is ``NotFound``. Revoking a revoked key changes nothing."""
    key = await queries.get_key(session, key_id)
    if key is None or key.partner_id != partner.id:
        raise NotFound("api_key")
    if key.revoked_at is not None:
        return
    now = utcnow()
    key.revoked_at = now
    if key.expires_at is None or key.expires_at > now:
        await _expire(session, key, now)


def _add_key(session: AsyncSession, partner_id: str, api_key: str, at: datetime) -> ApiKey:
    key_hash = hash_api_key(api_key)
    key = ApiKey(id=key_id_of(key_hash), partner_id=partner_id, key_hash=key_hash, created_at=at)
    session.add(key)
    return key


async def _expire(session: AsyncSession, key: ApiKey, at: datetime) -> None:
    key.expires_at = at
    await outbox.add(
        session,
        events.PartnerKeyRevoked(partner_id=key.partner_id, key_id=key.id, expires_at=at),
    )


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
