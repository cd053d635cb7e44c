"""``/v1/partners``: the operator registers partners; a partner reads and tunes itself."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.auth import Principal, require_admin
from crosslead_common.errors import Problem
from crosslead_intake import repository, service
from crosslead_intake.api.deps import CurrentPrincipal, ReadSession, RuntimeDep
from crosslead_intake.api.schemas import PartnerCreated, PartnerIn, PartnerOut, PartnerPatch
from crosslead_intake.models import Partner

router = APIRouter(prefix="/v1/partners", tags=["partners"])


@router.post("", status_code=201, response_model=PartnerCreated)
async def create_partner(
    body: PartnerIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> PartnerCreated:
    require_admin(principal)
    async with runtime.db.transaction() as session:
        partner, api_key = await service.register_partner(
            session, body, runtime.settings.api_key_signing_key()
        )
    return PartnerCreated(**_out(partner).model_dump(), api_key=api_key)


@router.get("/{partner_id}", response_model=PartnerOut)
async def get_partner(
    partner_id: str, principal: CurrentPrincipal, session: ReadSession
) -> PartnerOut:
    """The operator, or the partner itself."""
    return _out(await _own_partner(session, partner_id, principal))


@router.patch("/{partner_id}", response_model=PartnerOut)
async def update_partner(
    partner_id: str, body: PartnerPatch, principal: CurrentPrincipal, runtime: RuntimeDep
) -> PartnerOut:
    """Change routing settings (the operator, or the partner itself); ``null`` clears an
    optional one. The router hears of every change."""
    async with runtime.db.transaction() as session:
        # Locked: concurrent patches apply one after the other, and each publishes what the
        # other left, so the router never keeps a stale setting.
        partner = await _own_partner(session, partner_id, principal, for_update=True)
        await service.update_partner(session, partner, body)
    return _out(partner)


async def _own_partner(
    session: AsyncSession, partner_id: str, principal: Principal, *, for_update: bool = False
) -> Partner:
    partner = await repository.get_partner(session, partner_id, for_update=for_update)
    if partner is None or not principal.can_act_as(partner_id):
        raise Problem.not_found("partner")
    return partner


def _out(partner: Partner) -> PartnerOut:
    return PartnerOut.model_validate(partner, from_attributes=True)
