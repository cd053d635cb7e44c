"""The warm-up kit: partners' pitch cards for the managers who refer customers to them, and
the operator's complementarity map that suggests what else a customer may need."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.auth import Principal
from crosslead_common.db import utcnow
from crosslead_common.domain import InvalidField, NotFound
from crosslead_intake.api.schemas import PitchCardIn
from crosslead_intake.models import Agreement, Complements, Partner, PitchCard
from crosslead_intake.service import new_id


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
    card = await session.get(PitchCard, card_id, with_for_update=True)
    if card is None or card.partner_id != partner_id:
        raise NotFound("pitch card")
    if card.status != "published":
        card.status, card.published_at = "published", utcnow()
    return card


async def own_pitch_cards(session: AsyncSession, partner_id: str) -> Sequence[PitchCard]:
    result = await session.scalars(
        select(PitchCard)
        .where(PitchCard.partner_id == partner_id)
        .order_by(PitchCard.created_at, PitchCard.id)
    )
    return result.all()


async def visible_pitch_card(
    session: AsyncSession, card_id: str, principal: Principal
) -> PitchCard:
    """The operator and the owner see any card; a partner with an agreement with the owner (in
    either direction) sees it once published; anyone else gets a 404."""
    card = await session.get(PitchCard, card_id)
    if card is None or not (
        principal.can_act_as(card.partner_id)
        or (card.status == "published" and await _agreed(session, principal, card.partner_id))
    ):
        raise NotFound("pitch card")
    return card


async def _agreed(session: AsyncSession, principal: Principal, owner_id: str) -> bool:
    caller = principal.partner_id
    found = await session.scalar(
        select(Agreement.id)
        .where(
            or_(
                (Agreement.source_partner_id == caller) & (Agreement.target_partner_id == owner_id),
                (Agreement.source_partner_id == owner_id) & (Agreement.target_partner_id == caller),
            ),
            Agreement.ended_at.is_(None),
        )
        .limit(1)
    )
    return found is not None


async def set_complements(
    session: AsyncSession, category: str, complements: list[str]
) -> Complements:
    for i, need in enumerate(complements):
        if need == category:
            raise InvalidField(f"body.{i}", "a category does not complement itself")
        if need in complements[:i]:
            raise InvalidField(f"body.{i}", f"{need} is listed twice")
    entry = await session.get(Complements, category, with_for_update=True)
    if entry is None:
        entry = Complements(category=category)
        session.add(entry)
    entry.complements, entry.updated_at = list(complements), utcnow()
    return entry


async def get_complements(session: AsyncSession, category: str) -> Complements | None:
    return await session.get(Complements, category)


async def cross_sell(
    session: AsyncSession, partner_id: str, category: str
) -> list[tuple[str, list[PitchCard]]]:
    """For each need the map suggests beside ``category`` (in the map's order): the published
    cards for that need of partners that offer it and take such leads from the caller."""
    entry = await get_complements(session, category)
    needs = entry.complements if entry is not None else []
    agreements = await session.scalars(
        select(Agreement).where(
            Agreement.source_partner_id == partner_id, Agreement.ended_at.is_(None)
        )
    )
    targets: dict[str, set[str]] = {need: set() for need in needs}
    for agreement in agreements:
        for need in targets.keys() & set(agreement.categories):
            targets[need].add(agreement.target_partner_id)
    partners = {t for ids in targets.values() for t in ids}
    cards = await session.execute(
        select(PitchCard, Partner.offers)
        .join(Partner, Partner.id == PitchCard.partner_id)
        .where(
            PitchCard.partner_id.in_(partners),
            PitchCard.category.in_(needs),
            PitchCard.status == "published",
        )
        .order_by(PitchCard.published_at, PitchCard.id)
    )
    by_need: dict[str, list[PitchCard]] = {need: [] for need in needs}
    for card, offers in cards:
        if card.partner_id in targets[card.category] and card.category in offers:
            by_need[card.category].append(card)
    return list(by_need.items())
