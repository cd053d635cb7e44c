"""SQL of the partners subdomain."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_intake.models import Partner

__all__ = ["get_partner", "partner_id_by_key_hash"]


async def partner_id_by_key_hash(session: AsyncSession, key_hash: str) -> str | None:
    result: str | None = await session.scalar(
        select(Partner.id).where(Partner.api_key_hash == key_hash)
    )
    return result


async def get_partner(
    session: AsyncSession, partner_id: str, *, for_update: bool = False
) -> Partner | None:
    return await session.get(Partner, partner_id, with_for_update=for_update)
