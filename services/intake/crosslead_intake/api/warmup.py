"""The warm-up kit: ``/v1/pitch-cards`` (partners), ``/v1/complements`` (the operator's
complementarity map) and ``/v1/cross-sell`` (suggestions for a partner's managers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query

from crosslead_common.auth import require_admin
from crosslead_common.domain import NotFound
from crosslead_intake import warmup
from crosslead_intake.api.deps import (
    CurrentPrincipal,
    ReadSession,
    RuntimeDep,
    calling_partner,
    partner_only,
)
from crosslead_intake.api.schemas import (
    CATEGORY_PATTERN,
    ComplementsIn,
    ComplementsOut,
    CrossSellOut,
    CrossSellSuggestion,
    PitchCardIn,
    PitchCardList,
    PitchCardOut,
)
from crosslead_intake.models import Complements, PitchCard

pitch_cards = APIRouter(prefix="/v1/pitch-cards", tags=["warm-up kit"])
complements = APIRouter(prefix="/v1/complements", tags=["warm-up kit"])
cross_sell = APIRouter(prefix="/v1/cross-sell", tags=["warm-up kit"])

CategoryPath = Annotated[str, Path(pattern=CATEGORY_PATTERN)]


def _card(card: PitchCard) -> PitchCardOut:
    return PitchCardOut.model_validate(card, from_attributes=True)


@pitch_cards.post("", status_code=201, response_model=PitchCardOut)
async def create_pitch_card(
    body: PitchCardIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> PitchCardOut:
    """A draft card for one of the categories the caller offers."""
    async with runtime.db.transaction() as session:
        partner = await calling_partner(session, principal, "write pitch cards")
        card = await warmup.create_pitch_card(session, partner, body)
    return _card(card)


@pitch_cards.post("/{card_id}/publish", response_model=PitchCardOut)
async def publish_pitch_card(
    card_id: str, principal: CurrentPrincipal, runtime: RuntimeDep
) -> PitchCardOut:
    """Make the card readable by the partners the owner has agreements with."""
    partner_id = partner_only(principal, "publish pitch cards")
    async with runtime.db.transaction() as session:
        card = await warmup.publish_pitch_card(session, partner_id, card_id)
    return _card(card)


@pitch_cards.get("", response_model=PitchCardList)
async def list_pitch_cards(principal: CurrentPrincipal, session: ReadSession) -> PitchCardList:
    """The caller's own cards, drafts included, oldest first."""
    partner_id = partner_only(principal, "list its pitch cards")
    return PitchCardList(
        items=[_card(c) for c in await warmup.own_pitch_cards(session, partner_id)]
    )


@pitch_cards.get("/{card_id}", response_model=PitchCardOut)
async def get_pitch_card(
    card_id: str, principal: CurrentPrincipal, session: ReadSession
) -> PitchCardOut:
    """The owner or the operator; a published card also any partner with an agreement with the
    owner."""
    return _card(await warmup.visible_pitch_card(session, card_id, principal))


def _complements(entry: Complements) -> ComplementsOut:
    return ComplementsOut(category=entry.category, complements=entry.complements)


@complements.put("/{category}", response_model=ComplementsOut)
async def set_complements(
    category: CategoryPath,
    body: Annotated[ComplementsIn, Body()],
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
) -> ComplementsOut:
    """Replace the needs worth suggesting beside ``category`` (the operator)."""
    require_admin(principal)
    async with runtime.db.transaction() as session:
        entry = await warmup.set_complements(session, category, body)
    return _complements(entry)


@complements.get("/{category}", response_model=ComplementsOut)
async def get_complements(
    category: CategoryPath, principal: CurrentPrincipal, session: ReadSession
) -> ComplementsOut:
    entry = await warmup.get_complements(session, category)
    if entry is None:
        raise NotFound("complements")
    return _complements(entry)


@cross_sell.get("", response_model=CrossSellOut)
async def suggest_cross_sell(
    category: Annotated[str, Query(pattern=CATEGORY_PATTERN)],
    principal: CurrentPrincipal,
    session: ReadSession,
) -> CrossSellOut:
    """What else to offer a customer who buys ``category`` from the caller: each complementary
    need with the published pitch cards of partners that take such leads from the caller."""
    partner_id = partner_only(principal, "ask for cross-sell suggestions")
    suggestions = await warmup.cross_sell(session, partner_id, category)
    return CrossSellOut(
        category=category,
        suggestions=[
            CrossSellSuggestion(need=need, pitch_cards=[_card(c) for c in cards])
            for need, cards in suggestions
        ],
    )
