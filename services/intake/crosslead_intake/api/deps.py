"""Dependencies shared by the intake routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.auth import Principal
from crosslead_common.domain import Forbidden
from crosslead_common.runtime import Runtime, current_principal, db_session, get_runtime
from crosslead_intake import repository
from crosslead_intake.customers import CustomerMatcher
from crosslead_intake.models import Partner

CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
ReadSession = Annotated[AsyncSession, Depends(db_session)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def partner_only(principal: Principal, action: str) -> str:
    """The calling partner's id; the operator cannot act on a partner's behalf here."""
    if principal.partner_id is None:
        raise Forbidden(f"only a partner can {action}")
    return principal.partner_id


async def calling_partner(session: AsyncSession, principal: Principal, action: str) -> Partner:
    partner = await repository.get_partner(session, partner_only(principal, action))
    assert partner is not None  # authenticated by its key, so it exists
    return partner


def get_matcher(request: Request) -> CustomerMatcher:
    matcher: CustomerMatcher = request.app.state.customer_matcher
    return matcher


Matcher = Annotated[CustomerMatcher, Depends(get_matcher)]
