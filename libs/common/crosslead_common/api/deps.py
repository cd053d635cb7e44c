"""The dependencies every route of every service is written with: who calls, a session to
read with, the runtime (to write in one transaction) and the service's typed settings."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.api.contract import answers
from crosslead_common.auth import Principal, require_admin
from crosslead_common.domain import Forbidden
from crosslead_common.runtime import Runtime, current_principal, db_session, get_runtime
from crosslead_common.settings import ServiceSettings

__all__ = ["AdminOnly", "Caller", "PartnerId", "ReadSession", "RuntimeDep", "settings_of"]

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)

#: The authenticated caller, operator or partner (401 otherwise).
Caller = Annotated[Principal, Depends(current_principal)]


@answers(403)
async def _partner_id(principal: Caller) -> str:
    if principal.partner_id is None:
        raise Forbidden("this endpoint is for a partner's API key")
    return principal.partner_id


@answers(403)
async def _admin(principal: Caller) -> Principal:
    require_admin(principal)
    return principal


#: The calling partner's id; the operator's token is refused (403): it acts for no partner.
PartnerId = Annotated[str, Depends(_partner_id)]
#: The operator; a partner's key is refused (403).
AdminOnly = Annotated[Principal, Depends(_admin)]
#: A session for reads; writes go through ``runtime.db.transaction()``.
ReadSession = Annotated[AsyncSession, Depends(db_session)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def settings_of(runtime: Runtime, kind: type[SettingsT]) -> SettingsT:
    """The service's own settings, typed."""
    settings = runtime.settings
    if not isinstance(settings, kind):
        raise TypeError(f"{runtime.name} runs with {type(settings).__name__}, not {kind.__name__}")
    return settings
