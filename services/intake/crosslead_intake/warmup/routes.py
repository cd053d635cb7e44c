"""The warm-up kit: ``/v1/pitch-cards`` (partners), ``/v1/complements`` (the operator's
complementarity map) and ``/v1/cross-sell`` (suggestions for a partner's managers)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query

from crosslead_common.api.deps import AdminOnly, Caller, PartnerId, ReadSession, RuntimeDep
from crosslead_common.api.paging import Cursor, Limit, Page, decode_cursor, page_of
from crosslead_common.domain import InvalidField
from crosslead_intake.fields import CATEGORY_PATTERN
from crosslead_intake.models import Complements, PitchCard
from crosslead_intake.partners.queries import get_partner
from crosslead_intake.warmup import service
from crosslead_intake.warmup.schemas import (
    ComplementsIn,
    ComplementsOut,
    CrossSellOut,
    CrossSellSuggestion,
    PitchCardIn,
    PitchCardOut,
)

pitch_cards = APIRouter(prefix="/v1/pitch-cards", tags=["warm-up kit"])
complements = APIRouter(prefix="/v1/complements", tags=["warm-up kit"])
cross_sell = APIRouter(prefix="/v1/cross-sell", tags=["warm-up kit"])
routers = (pitch_cards, complements, cross_sell)

CategoryPath = Annotated[str, Path(pattern=CATEGORY_PATTERN)]


def _card(card: PitchCard) -> PitchCardOut:
    return PitchCardOut.model_validate(card, from_attributes=True)


@pitch_cards.post("", status_code=201, response_model=PitchCardOut)
async def create_pitch_card(
    body: PitchCardIn, partner_id: PartnerId, runtime: RuntimeDep
) -> PitchCardOut:
    """A draft card for one of the categories the caller offers."""
    async with runtime.db.transaction() as session:
        partner = await get_partner(session, partner_id)
        assert partner is not None  # authenticated by its key, so it exists
        card = await service.create_pitch_card(session, partner, body)
    return _card(card)


@pitch_cards.post("/{card_id}/publish", response_model=PitchCardOut)
async def publish_pitch_card(
    card_id: str, partner_id: PartnerId, runtime: RuntimeDep
) -> PitchCardOut:
    """Make the card readable by the partners the owner has agreements with."""
    async with runtime.db.transaction() as session:
        card = await service.publish_pitch_card(session, partner_id, card_id)
    return _card(card)


@pitch_cards.get("", response_model=Page[PitchCardOut])
async def list_pitch_cards(
    partner_id: PartnerId, session: ReadSession, limit: Limit = 50, cursor: Cursor = None
) -> Page[PitchCardOut]:
    """The caller's own cards, drafts included, oldest first."""
    after = decode_cursor(cursor, 2)
    try:
        start = None if after is None else (datetime.fromisoformat(after[0]), after[1])
    except ValueError:
        raise InvalidField("cursor", "not a cursor of this list") from None
    cards = await service.own_pitch_cards(session, partner_id, after=start, limit=limit + 1)
    return page_of(cards, limit, lambda c: (c.created_at.isoformat(), c.id), _card)


@pitch_cards.get("/{card_id}", response_model=PitchCardOut)
async def get_pitch_card(card_id: str, principal: Caller, session: ReadSession) -> PitchCardOut:
    """The owner or the operator; a published card also any partner with an agreement with the
    owner."""
    return _card(await service.visible_pitch_card(session, card_id, principal))


def _complements(entry: Complements) -> ComplementsOut:
    return ComplementsOut(category=entry.category, complements=entry.complements)


@complements.put("/{category}", response_model=ComplementsOut)
async def set_complements(
    category: CategoryPath,
    body: Annotated[ComplementsIn, Body()],
    _: AdminOnly,
    runtime: RuntimeDep,
) -> ComplementsOut:
    """Replace the needs worth suggesting beside ``category`` (the operator)."""
    async with runtime.db.transaction() as session:
        entry = await service.set_complements(session, category, body)
    return _complements(entry)


@complements.get("/{category}", response_model=ComplementsOut)
async def get_complements(
    category: CategoryPath, _: Caller, session: ReadSession
) -> ComplementsOut:
    """The categories that complement `category` (what a customer who bought it may need
    next)."""
    return _complements(await service.visible_complements(session, category))


@cross_sell.get("", response_model=CrossSellOut)
async def suggest_cross_sell(
    category: Annotated[str, Query(pattern=CATEGORY_PATTERN)],
    partner_id: PartnerId,
    session: ReadSession,
) -> CrossSellOut:
    """What else to offer a customer who buys ``category`` from the caller: each complementary
    need with the published pitch cards of partners that take such leads from the caller."""
    suggestions = await service.cross_sell(session, partner_id, category)
    return CrossSellOut(
        category=category,
        suggestions=[
            CrossSellSuggestion(need=need, pitch_cards=[_card(c) for c in cards])
            for need, cards in suggestions
        ],
    )
