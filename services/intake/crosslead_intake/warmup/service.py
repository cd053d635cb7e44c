"""The warm-up kit: partners' pitch cards for the managers who refer customers to them, and
the operator's complementarity map that suggests what else a customer may need."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.auth import Principal
from crosslead_common.db import utcnow
from crosslead_common.domain import InvalidField, NotFound
from crosslead_common.ids import new_id
from crosslead_intake.agreements.queries import active_from, agreed
from crosslead_intake.models import Complements, Partner, PitchCard
from crosslead_intake.warmup import queries
from crosslead_intake.warmup.schemas import PitchCardIn

__all__ = [
    "create_pitch_card",
    "cross_sell",
    "own_pitch_cards",
    "publish_pitch_card",
    "set_complements",
    "visible_complements",
    "visible_pitch_card",
]


async def create_pitch_card(
    session: AsyncSession, partner: Partner, data: PitchCardIn
) -> PitchCard:
    """A draft card; only a category the partner offers can be pitched."""
    if data.category not in partner.offers:
        raise InvalidField("category", "not a category this partner offers")
    card = PitchCard(
        id=new_id("pc"),
        partner_id=partner.id,
        category=data.category,
        headline=data.headline,
        talking_points=data.talking_points,
        status="draft",
        created_at=utcnow(),
    )
    session.add(card)
    return card


async def publish_pitch_card(session: AsyncSession, partner_id: str, card_id: str) -> PitchCard:
    """Make the owner's card readable by the partners it has agreements with."""
    card = await queries.get_pitch_card(session, card_id, for_update=True)
    if card is None or card.partner_id != partner_id:
        raise NotFound("pitch card")
    if card.status != "published":
        card.status, card.published_at = "published", utcnow()
    return card


async def own_pitch_cards(
    session: AsyncSession, partner_id: str, *, after: tuple[datetime, str] | None, limit: int
) -> Sequence[PitchCard]:
    """The partner's own cards, drafts included, oldest first: up to ``limit`` after the
    ``(created_at, id)`` of the last card of the previous page."""
    return await queries.own_pitch_cards(session, partner_id, after=after, limit=limit)


async def visible_pitch_card(
    session: AsyncSession, card_id: str, principal: Principal
) -> PitchCard:
    """The operator and the owner see any card; a partner with an agreement with the owner (in
    either direction) sees it once published; anyone else gets ``NotFound``."""
    card = await queries.get_pitch_card(session, card_id)
    if card is None or not (
        principal.can_act_as(card.partner_id)
        or (
            card.status == "published"
            and await agreed(session, principal.partner_id, card.partner_id)
        )
    ):
        raise NotFound("pitch card")
    return card


async def set_complements(
    session: AsyncSession, category: str, complements: list[str]
) -> Complements:
    """Replace the needs worth suggesting beside ``category``."""
    for i, need in enumerate(complements):
        if need == category:
            raise InvalidField(f"body.{i}", "a category does not complement itself")
        if need in complements[:i]:
            raise InvalidField(f"body.{i}", f"{need} is listed twice")
    entry = await queries.get_complements(session, category, for_update=True)
    if entry is None:
        entry = Complements(category=category)
        session.add(entry)
    entry.complements, entry.updated_at = list(complements), utcnow()
    return entry


async def visible_complements(session: AsyncSession, category: str) -> Complements:
    """The needs the map suggests beside ``category``; ``NotFound`` if none were set."""
    entry = await queries.get_complements(session, category)
    if entry is None:
        raise NotFound("complements")
    return entry


async def cross_sell(
    session: AsyncSession, partner_id: str, category: str
) -> list[tuple[str, list[PitchCard]]]:
    """For each need the map suggests beside ``category`` (in the map's order): the published
    cards for that need of partners that offer it and take such leads from the caller."""
    entry = await queries.get_complements(session, category)
    needs = entry.complements if entry is not None else []
    targets: dict[str, set[str]] = {need: set() for need in needs}
    for agreement in await active_from(session, partner_id):
        for need in targets.keys() & set(agreement.categories):
            targets[need].add(agreement.target_partner_id)
    partners = {t for ids in targets.values() for t in ids}
    by_need: dict[str, list[PitchCard]] = {need: [] for need in needs}
    for card, offers in await queries.published_cards(session, partners, needs):
        if card.partner_id in targets[card.category] and card.category in offers:
            by_need[card.category].append(card)
    return list(by_need.items())
