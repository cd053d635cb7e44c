"""``/v1/agreements``: the operator records which leads may flow between two partners."""

from __future__ import annotations

from fastapi import APIRouter

from crosslead_common.api.deps import AdminOnly, Caller, ReadSession, RuntimeDep
from crosslead_intake.agreements import service
from crosslead_intake.agreements.schemas import AgreementIn, AgreementOut
from crosslead_intake.models import Agreement

router = APIRouter(prefix="/v1/agreements", tags=["agreements"])


@router.post("", status_code=201, response_model=AgreementOut)
async def create_agreement(body: AgreementIn, _: AdminOnly, runtime: RuntimeDep) -> AgreementOut:
    """Let the source's leads of `categories` go to the target (operator only); the target
    pays the source `commission` on each won deal, of which the source's referring manager
    earns `manager_share`."""
    async with runtime.db.transaction() as session:
        agreement = await service.create_agreement(session, body)
    return _out(agreement)


@router.post("/{agreement_id}/end", response_model=AgreementOut)
async def end_agreement(agreement_id: str, _: AdminOnly, runtime: RuntimeDep) -> AgreementOut:
    """Stop new leads flowing under the agreement (operator only; ending it twice is
    harmless). Leads already routed under it keep their terms."""
    async with runtime.db.transaction() as session:
        agreement = await service.end_agreement(session, agreement_id)
    return _out(agreement)


@router.get("/{agreement_id}", response_model=AgreementOut)
async def get_agreement(agreement_id: str, principal: Caller, session: ReadSession) -> AgreementOut:
    """The operator, or either partner of the agreement."""
    return _out(await service.visible_agreement(session, agreement_id, principal))


def _out(agreement: Agreement) -> AgreementOut:
    return AgreementOut.model_validate(agreement, from_attributes=True)
