"""SQL of the partners subdomain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.partners import key_checker
from crosslead_intake.models import ApiKey, Partner

__all__ = [
    "get_key",
    "get_partner",
    "key_usable",
    "keys_of",
    "list_partners",
    "partner_id_by_key_hash",
]

#: Intake issues every key, so a key it does not list is refused.
key_usable = key_checker(Partner, ApiKey, unknown_keys_usable=False)


async def partner_id_by_key_hash(session: AsyncSession, key_hash: str) -> str | None:
    result: str | None = await session.scalar(
        select(Partner.id).where(Partner.api_key_hash == key_hash)
    )
    return result


async def get_partner(
    session: AsyncSession, partner_id: str, *, for_update: bool = False
) -> Partner | None:
    return await session.get(Partner, partner_id, with_for_update=for_update)


async def keys_of(session: AsyncSession, partner_id: str) -> Sequence[ApiKey]:
    """The partner's keys, oldest first."""
    result = await session.scalars(
        select(ApiKey).where(ApiKey.partner_id == partner_id).order_by(ApiKey.created_at, ApiKey.id)
    )
    return result.all()


async def get_key(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def list_partners(
    session: AsyncSession, *, after: tuple[datetime, str] | None, limit: int
) -> Sequence[Partner]:
    """Up to ``limit`` partners, oldest first, after ``(created_at, id)``."""
    query = select(Partner)
    if after is not None:
        at, partner_id = after
        query = query.where(
            or_(Partner.created_at > at, and_(Partner.created_at == at, Partner.id > partner_id))
        )
    result = await session.scalars(query.order_by(Partner.created_at, Partner.id).limit(limit))
    return result.all()
