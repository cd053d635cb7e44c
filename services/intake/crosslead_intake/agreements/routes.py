"""``/v1/agreements``: the operator records which leads may flow between two partners."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from crosslead_common.api.deps import AdminOnly, Caller, ReadSession, RuntimeDep
from crosslead_common.api.paging import Cursor, Limit, Page, decode_time_cursor, page_of
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


@router.get("", response_model=Page[AgreementOut])
async def list_agreements(
    principal: Caller,
    session: ReadSession,
    partner_id: Annotated[
        str | None, Query(min_length=1, max_length=64, description="Only this partner's")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[AgreementOut]:
    """Agreements, ended ones included, oldest first: the operator's all of them, a partner's
    those it is party to; ``partner_id`` keeps those that partner is party to as well."""
    found = await service.visible_agreements(
        session, principal, partner_id, after=decode_time_cursor(cursor), limit=limit + 1
    )
    return page_of(found, limit, lambda a: (a.created_at.isoformat(), a.id), _out)


@router.get("/{agreement_id}", response_model=AgreementOut)
async def get_agreement(agreement_id: str, principal: Caller, session: ReadSession) -> AgreementOut:
    """The operator, or either partner of the agreement."""
    return _out(await service.visible_agreement(session, agreement_id, principal))


def _out(agreement: Agreement) -> AgreementOut:
    return AgreementOut.model_validate(agreement, from_attributes=True)
