"""``GET /v1/statements``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from crosslead_common.errors import Problem
from crosslead_payouts import queries
from crosslead_payouts.api.deps import Caller, Session, own_partner_scope
from crosslead_payouts.api.schemas import StatementOut

router = APIRouter(tags=["statements"])


@router.get("/v1/statements")
async def get_statement(
    principal: Caller,
    session: Session,
    partner_id: Annotated[
        str | None, Query(description="Whose statement (required with the admin token)")
    ] = None,
) -> StatementOut:
    """A partner's commission statement: totals per currency and every ledger line."""
    scope = own_partner_scope(principal, partner_id)
    if scope is None:
        raise Problem.invalid("partner_id", "required with the admin token")
    return StatementOut.of(await queries.statement(session, scope))
