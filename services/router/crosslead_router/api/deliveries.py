"""``/v1/deliveries``: every offer sent to a partner and each attempt at it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from crosslead_common.api.deps import Caller, ReadSession
from crosslead_router import service
from crosslead_router.api.schemas import AttemptOut, DeliveryList, DeliveryOut

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"])


@router.get("", response_model=DeliveryList)
async def list_deliveries(
    principal: Caller,
    session: ReadSession,
    lead_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryList:
    """Deliveries addressed to the calling partner (the operator sees all), newest first."""
    found = await service.list_deliveries(
        session, partner_id=principal.partner_id, lead_id=lead_id, limit=limit
    )
    return DeliveryList(
        items=[
            DeliveryOut(
                id=d.id,
                lead_id=d.lead_id,
                partner_id=d.partner_id,
                kind=d.kind,
                webhook_id=d.webhook_id,
                status=d.status,
                attempt_count=d.attempt_count,
                next_attempt_at=d.next_attempt_at,
                created_at=d.created_at,
                delivered_at=d.delivered_at,
                attempts=[AttemptOut.model_validate(a) for a in attempts],
            )
            for d, attempts in found
        ]
    )
