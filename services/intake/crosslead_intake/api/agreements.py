"""``/v1/agreements``: the operator records which leads may flow between two partners."""

from __future__ import annotations

from fastapi import APIRouter

from crosslead_common.auth import require_admin
from crosslead_common.domain import NotFound
from crosslead_intake import repository, service
from crosslead_intake.api.deps import CurrentPrincipal, ReadSession, RuntimeDep
from crosslead_intake.api.schemas import AgreementIn, AgreementOut
from crosslead_intake.models import Agreement

router = APIRouter(prefix="/v1/agreements", tags=["agreements"])


@router.post("", status_code=201, response_model=AgreementOut)
async def create_agreement(
    body: AgreementIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> AgreementOut:
    require_admin(principal)
    async with runtime.db.transaction() as session:
        agreement = await service.create_agreement(session, body)
    return _out(agreement)


@router.post("/{agreement_id}/end", response_model=AgreementOut)
async def end_agreement(
    agreement_id: str, principal: CurrentPrincipal, runtime: RuntimeDep
) -> AgreementOut:
    """Stop new leads flowing under the agreement (operator only; ending it twice is
    harmless). Leads already routed under it keep their terms."""
    require_admin(principal)
    async with runtime.db.transaction() as session:
        agreement = await service.end_agreement(session, agreement_id)
    return _out(agreement)


@router.get("/{agreement_id}", response_model=AgreementOut)
async def get_agreement(
    agreement_id: str, principal: CurrentPrincipal, session: ReadSession
) -> AgreementOut:
    """The operator, or either partner of the agreement."""
    agreement = await repository.get_agreement(session, agreement_id)
    if agreement is None or not (
        principal.is_admin
        or principal.partner_id in (agreement.source_partner_id, agreement.target_partner_id)
    ):
        raise NotFound("agreement")
    return _out(agreement)


def _out(agreement: Agreement) -> AgreementOut:
    return AgreementOut.model_validate(agreement, from_attributes=True)
