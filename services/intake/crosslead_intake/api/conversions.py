"""``/v1/conversions``: the target partner reports won deals and refunds."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_intake import service
from crosslead_intake.api.deps import CurrentPrincipal, RuntimeDep, partner_only
from crosslead_intake.api.idempotency import run_once
from crosslead_intake.api.schemas import ConversionAccepted, ConversionIn

router = APIRouter(prefix="/v1/conversions", tags=["conversions"])


@router.post("", status_code=202, response_model=ConversionAccepted)
async def report_conversion(
    body: ConversionIn,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    partner_id = partner_only(principal, "report conversions")

    async def report(session: AsyncSession) -> dict[str, Any]:
        conversion = await service.report_conversion(session, partner_id, body)
        return {"id": conversion.id}

    return await run_once(
        runtime.db,
        partner_id=partner_id,
        endpoint="POST /v1/conversions",
        key=idempotency_key,
        body=body,
        status_code=202,
        action=report,
    )
