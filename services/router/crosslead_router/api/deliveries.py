"""``/v1/deliveries``: every webhook sent to a partner and each attempt at it, and retrying
one now."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from crosslead_common.api.contract import raises
from crosslead_common.api.deps import Caller, ReadSession, RuntimeDep
from crosslead_common.domain import Conflict, InvalidField, NotFound
from crosslead_router import service
from crosslead_router.api.schemas import AttemptOut, DeliveryList, DeliveryOut
from crosslead_router.models import Delivery, DeliveryAttempt

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"])

Status = Literal["pending", "delivered", "failed", "cancelled"]


def _cursor(row: Delivery) -> str:
    raw = json.dumps([row.created_at.isoformat(), row.id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    try:
        at, last_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(at), str(last_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidField("cursor", "not a cursor this API returned") from exc


def _out(row: Delivery, attempts: list[DeliveryAttempt]) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        lead_id=row.lead_id,
        partner_id=row.partner_id,
        endpoint_id=row.endpoint_id,
        kind=row.kind,
        webhook_id=row.webhook_id,
        status=row.status,
        attempt_count=row.attempt_count,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        attempts=[AttemptOut.model_validate(a) for a in attempts],
    )


@router.get("", response_model=DeliveryList)
async def list_deliveries(
    *,
    principal: Caller,
    session: ReadSession,
    lead_id: Annotated[str | None, Query(max_length=64)] = None,
    endpoint_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Status | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryList:
    """Deliveries addressed to the calling partner (the operator sees all), newest first."""
    found = await service.list_deliveries(
        session,
        partner_id=principal.partner_id,
        lead_id=lead_id,
        endpoint_id=endpoint_id,
        status=status,
        after=_after(cursor),
        limit=limit + 1,
    )
    page = found[:limit]
    more = len(found) > limit
    return DeliveryList(
        items=[_out(row, attempts) for row, attempts in page],
        next_cursor=_cursor(page[-1][0]) if more else None,
    )


@router.post(
    "/{delivery_id}/retry",
    status_code=202,
    response_model=None,
    responses=raises(Conflict, conflict="The delivery is `delivered` or `cancelled`"),
)
async def retry_delivery(
    delivery_id: str, principal: Caller, runtime: RuntimeDep
) -> dict[str, str]:
    """Attempt a pending or failed delivery now, with the same body and webhook id (409 for
    one that is delivered or cancelled)."""
    try:
        async with runtime.db.transaction() as session:
            row = await service.retry_delivery(session, principal.partner_id, delivery_id)
            if row is None:
                raise NotFound(f"delivery {delivery_id}")
    except service.NotRetryable as exc:
        raise Conflict(str(exc)) from exc
    return {"id": delivery_id, "status": "pending"}
