"""``GET /v1/managers/{manager_id}/earnings``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from crosslead_common.api.deps import Caller, ReadSession
from crosslead_payouts import queries
from crosslead_payouts.api.deps import own_partner_scope
from crosslead_payouts.api.schemas import ManagerEarningsOut

router = APIRouter(tags=["managers"])


@router.get("/v1/managers/{manager_id}/earnings")
async def get_manager_earnings(
    manager_id: str,
    principal: Caller,
    session: ReadSession,
    partner_id: Annotated[
        str | None, Query(description="The manager's partner (admin; needed if ambiguous)")
    ] = None,
) -> ManagerEarningsOut:
    """What a referring manager has earned from its partner, per currency."""
    scope = own_partner_scope(principal, partner_id)
    return ManagerEarningsOut.of(await queries.manager_earnings(session, manager_id, scope))
