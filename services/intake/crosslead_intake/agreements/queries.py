"""SQL of the agreements subdomain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_intake.models import Agreement

__all__ = ["active_from", "agreed", "get_agreement", "list_agreements", "may_refer"]


async def get_agreement(
    session: AsyncSession, agreement_id: str, *, for_update: bool = False
) -> Agreement | None:
    return await session.get(Agreement, agreement_id, with_for_update=for_update)


async def may_refer(session: AsyncSession, source_id: str, target_id: str, need: str) -> bool:
    """Whether an active agreement lets ``source_id`` refer leads of ``need`` to
    ``target_id``."""
    categories = await session.scalars(
        select(Agreement.categories).where(
            Agreement.source_partner_id == source_id,
            Agreement.target_partner_id == target_id,
            Agreement.ended_at.is_(None),
        )
    )
    return any(need in c for c in categories)


async def agreed(session: AsyncSession, partner_id: str | None, other_id: str) -> bool:
    """Whether the two partners have an active agreement, in either direction."""
    found = await session.scalar(
        select(Agreement.id)
        .where(
            or_(
                (Agreement.source_partner_id == partner_id)
                & (Agreement.target_partner_id == other_id),
                (Agreement.source_partner_id == other_id)
                & (Agreement.target_partner_id == partner_id),
            ),
            Agreement.ended_at.is_(None),
        )
        .limit(1)
    )
    return found is not None


async def active_from(session: AsyncSession, source_id: str) -> Sequence[Agreement]:
    """The active agreements under which ``source_id`` refers leads."""
    result = await session.scalars(
        select(Agreement).where(
            Agreement.source_partner_id == source_id, Agreement.ended_at.is_(None)
        )
    )
    return result.all()


def _party(partner_id: str) -> ColumnElement[bool]:
    return or_(Agreement.source_partner_id == partner_id, Agreement.target_partner_id == partner_id)


async def list_agreements(
    session: AsyncSession,
    *,
    parties: Sequence[str],
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[Agreement]:
    """Up to ``limit`` agreements each of ``parties`` is party to (all for none), oldest first,
    after ``(created_at, id)``."""
    query = select(Agreement).where(*(_party(p) for p in parties))
    if after is not None:
        at, agreement_id = after
        query = query.where(
            or_(
                Agreement.created_at > at,
                and_(Agreement.created_at == at, Agreement.id > agreement_id),
            )
        )
    result = await session.scalars(query.order_by(Agreement.created_at, Agreement.id).limit(limit))
    return result.all()
