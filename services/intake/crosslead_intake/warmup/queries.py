"""SQL of the warm-up kit."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_intake.models import Complements, Partner, PitchCard

__all__ = ["get_complements", "get_pitch_card", "own_pitch_cards", "published_cards"]


async def get_pitch_card(
    session: AsyncSession, card_id: str, *, for_update: bool = False
) -> PitchCard | None:
    return await session.get(PitchCard, card_id, with_for_update=for_update)


async def own_pitch_cards(
    session: AsyncSession, partner_id: str, *, after: tuple[datetime, str] | None, limit: int
) -> Sequence[PitchCard]:
    """Up to ``limit`` of the partner's cards, oldest first, after ``(created_at, id)``."""
    query = select(PitchCard).where(PitchCard.partner_id == partner_id)
    if after is not None:
        at, card_id = after
        query = query.where(
            or_(
                PitchCard.created_at > at,
                and_(PitchCard.created_at == at, PitchCard.id > card_id),
            )
        )
    result = await session.scalars(query.order_by(PitchCard.created_at, PitchCard.id).limit(limit))
    return result.all()


async def get_complements(
    session: AsyncSession, category: str, *, for_update: bool = False
) -> Complements | None:
    return await session.get(Complements, category, with_for_update=for_update)


async def published_cards(
    session: AsyncSession, partner_ids: Collection[str], categories: Collection[str]
) -> list[tuple[PitchCard, list[str]]]:
    """Published cards of ``partner_ids`` for ``categories``, each with what its partner now
    offers, in the order they were published."""
    rows = await session.execute(
        select(PitchCard, Partner.offers)
        .join(Partner, Partner.id == PitchCard.partner_id)
        .where(
            PitchCard.partner_id.in_(partner_ids),
            PitchCard.category.in_(categories),
            PitchCard.status == "published",
        )
        .order_by(PitchCard.published_at, PitchCard.id)
    )
    return [(card, offers) for card, offers in rows]
