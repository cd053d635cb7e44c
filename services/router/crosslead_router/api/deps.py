"""Dependencies shared by the router's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crosslead_common.auth import Principal
from crosslead_common.domain import Forbidden
from crosslead_common.runtime import Runtime, current_principal, get_runtime
from crosslead_router.settings import RouterSettings

__all__ = ["Caller", "PartnerId", "RuntimeDep", "settings_of"]


async def partner_id(principal: Annotated[Principal, Depends(current_principal)]) -> str:
    """The calling partner; the operator's admin token is refused (403): webhook endpoints
    belong to a partner."""
    if principal.partner_id is None:
        raise Forbidden("this endpoint is for a partner's API key")
    return principal.partner_id


def settings_of(runtime: Runtime) -> RouterSettings:
    settings = runtime.settings
    assert isinstance(settings, RouterSettings)
    return settings


Caller = Annotated[Principal, Depends(current_principal)]
PartnerId = Annotated[str, Depends(partner_id)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
