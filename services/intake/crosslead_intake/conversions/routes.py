"""``/v1/conversions``: the target partner reports won deals and refunds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.api.contract import raises
from crosslead_common.api.deps import PartnerId, RuntimeDep
from crosslead_common.api.idempotency import IdempotencyKey, run_once
from crosslead_common.domain import Conflict, NotFound
from crosslead_intake.conversions import service
from crosslead_intake.conversions.schemas import ConversionAccepted, ConversionIn
from crosslead_intake.models import idempotency_keys

router = APIRouter(prefix="/v1/conversions", tags=["conversions"])


@router.post(
    "",
    status_code=202,
    response_model=ConversionAccepted,
    responses=raises(
        NotFound,
        Conflict,
        notfound="No such lead routed to the caller",
        conflict="The lead is not accepted by the caller (or no longer offered to it)",
    ),
)
async def report_conversion(
    body: ConversionIn,
    partner_id: PartnerId,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Report a won deal (`status: won`) or a refund on a lead the caller accepted; the source
    earns its commission on it. The same `(lead_id, external_id, status)` again changes
    nothing."""

    async def report(session: AsyncSession) -> dict[str, Any]:
        conversion = await service.report_conversion(session, partner_id, body)
        return ConversionAccepted(id=conversion.id).model_dump()

    return await run_once(
        runtime.db,
        idempotency_keys,
        partner_id=partner_id,
        endpoint="POST /v1/conversions",
        key=idempotency_key,
        body=body,
        status_code=202,
        action=report,
    )
