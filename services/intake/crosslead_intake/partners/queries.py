"""SQL of the partners subdomain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_intake.models import Partner

__all__ = ["get_partner", "list_partners", "partner_id_by_key_hash"]


async def partner_id_by_key_hash(session: AsyncSession, key_hash: str) -> str | None:
    result: str | None = await session.scalar(
        select(Partner.id).where(Partner.api_key_hash == key_hash)
    )
    return result


async def get_partner(
    session: AsyncSession, partner_id: str, *, for_update: bool = False
) -> Partner | None:
    return await session.get(Partner, partner_id, with_for_update=for_update)


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
