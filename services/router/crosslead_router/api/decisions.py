"""``/v1/routing/decisions``: why a lead went where it went, hop by hop."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from crosslead_common.api.contract import raises
from crosslead_common.api.deps import Caller, ReadSession
from crosslead_common.domain import NotFound
from crosslead_router import routing
from crosslead_router.api.schemas import DecisionList, DecisionOut, ExcludedOut

router = APIRouter(prefix="/v1/routing/decisions", tags=["routing"])


@router.get(
    "",
    response_model=DecisionList,
    responses=raises(NotFound, notfound="Unknown lead, or not the caller's"),
)
async def list_routing_decisions(
    principal: Caller,
    session: ReadSession,
    lead_id: Annotated[str, Query(min_length=1, max_length=64)],
) -> DecisionList:
    """Every routing decision about the lead, in order: the candidates with their score
    breakdown (best first) and the partners left out with the reason. For the lead's source
    partner and the operator; anyone else gets a 404."""
    found = await routing.decisions_of(session, lead_id, principal.partner_id)
    return DecisionList(
        lead_id=lead_id,
        decisions=[
            DecisionOut(
                hop=decision.hop,
                at=row.at,
                outcome=row.outcome,
                chosen_partner_id=decision.chosen_partner_id,
                candidates=list(decision.candidates),
                excluded=[ExcludedOut(**e.model_dump()) for e in decision.excluded],
            )
            for row, decision in found
        ],
    )
