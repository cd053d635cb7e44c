"""The columns of a partner that more than one service keeps: who it is, its API key's hash,
its routing settings (as ``PartnerRegistered`` and ``PartnerUpdated`` carry them) and its
status; and the view of its API keys each service authenticates with (:func:`key_checker`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, false, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from crosslead_common.auth import KeyCheck
from crosslead_common.db import UTCDateTime, utcnow

__all__ = [
    "ACTIVE",
    "DISABLED",
    "KeyColumns",
    "PartnerColumns",
    "key_checker",
    "record_key_expiry",
]

#: A partner's ``status``: ``active``, or ``disabled`` (its keys are refused everywhere and it
#: is no routing candidate).
ACTIVE = "active"
DISABLED = "disabled"


class PartnerColumns:
    """Mixed into a service's ``partners`` table."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    offers: Mapped[list[str]] = mapped_column(JSON)
    regions: Mapped[list[str]] = mapped_column(JSON)
    capacity_per_day: Mapped[int | None] = mapped_column(Integer)
    capacity_per_hour: Mapped[int | None] = mapped_column(Integer)
    #: An :class:`~crosslead_common.events.Availability` as JSON; ``None``: any time.
    availability: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    paused: Mapped[bool] = mapped_column(Boolean, server_default=false())
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), server_default=text(f"'{ACTIVE}'"))


class KeyColumns:
    """Mixed into a service's ``api_keys`` table: one key of a partner, by its id
    (:func:`~crosslead_common.auth.key_id_of`); from ``expires_at`` on it is refused."""

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(64), index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def key_checker(partners: Any, keys: Any, *, unknown_keys_usable: bool) -> KeyCheck:
    """A :data:`~crosslead_common.auth.KeyCheck` on the ``partners`` table (with ``id`` and
    ``status``) and the ``keys`` table (:class:`KeyColumns`), in one query: a key is usable
    while its partner is not disabled and it has not expired. A key the table does not list
    is usable with ``unknown_keys_usable`` (a copy fed by events: its issue may not have
    arrived; only revocations matter), refused without (the service that issues keys)."""

    async def usable(session: AsyncSession, partner_id: str, key_id: str) -> bool:
        status = select(partners.status).where(partners.id == partner_id).scalar_subquery()
        expiry = select(keys.expires_at).where(keys.id == key_id, keys.partner_id == partner_id)
        known = select(keys.id).where(keys.id == key_id, keys.partner_id == partner_id)
        row = (
            await session.execute(select(status, expiry.scalar_subquery(), known.exists()))
        ).one()
        partner_status, expires_at, listed = row
        if partner_status == DISABLED:
            return False
        if not listed:
            return unknown_keys_usable
        return expires_at is None or utcnow() < expires_at

    return usable


async def record_key_expiry(
    session: AsyncSession, keys: Any, partner_id: str, key_id: str, expires_at: datetime
) -> None:
    """Remember that the key stops working at ``expires_at`` (the earliest such time wins, so
    a replayed or late event never extends a key)."""
    row = await session.get(keys, key_id, with_for_update=True)
    if row is None:
        session.add(keys(id=key_id, partner_id=partner_id, expires_at=expires_at))
    elif row.expires_at is None or expires_at < row.expires_at:
        row.expires_at = expires_at
