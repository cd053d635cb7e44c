"""``/v1/partners``: the operator registers partners; a partner can read itself."""

from __future__ import annotations

from fastapi import APIRouter

from crosslead_common.auth import require_admin
from crosslead_common.errors import Problem
from crosslead_intake import repository, service
from crosslead_intake.api.deps import CurrentPrincipal, ReadSession, RuntimeDep
from crosslead_intake.api.schemas import PartnerCreated, PartnerIn, PartnerOut

router = APIRouter(prefix="/v1/partners", tags=["partners"])


@router.post("", status_code=201, response_model=PartnerCreated)
async def create_partner(
    body: PartnerIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> PartnerCreated:
    require_admin(principal)
    async with runtime.db.transaction() as session:
        partner, api_key = await service.register_partner(session, body)
    return PartnerCreated(
        **PartnerOut.model_validate(partner, from_attributes=True).model_dump(), api_key=api_key
    )


@router.get("/{partner_id}", response_model=PartnerOut)
async def get_partner(
    partner_id: str, principal: CurrentPrincipal, session: ReadSession
) -> PartnerOut:
    partner = await repository.get_partner(session, partner_id)
    if partner is None or not principal.can_act_as(partner_id):
        raise Problem.not_found("partner")
    return PartnerOut.model_validate(partner, from_attributes=True)
