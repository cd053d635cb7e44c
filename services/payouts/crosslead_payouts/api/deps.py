"""Dependencies shared by the payouts routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.auth import Principal
from crosslead_common.domain import NotFound
from crosslead_common.runtime import current_principal, db_session

__all__ = ["Caller", "Session", "own_partner_scope"]

Caller = Annotated[Principal, Depends(current_principal)]
Session = Annotated[AsyncSession, Depends(db_session)]


def own_partner_scope(principal: Principal, requested: str | None) -> str | None:
    """The partner whose data the caller may read: a partner only its own (another partner's
    id is a 404, as if it did not exist); the operator whichever it asks for, or None."""
    if principal.is_admin:
        return requested
    if requested is not None and requested != principal.partner_id:
        raise NotFound("partner")
    return principal.partner_id
