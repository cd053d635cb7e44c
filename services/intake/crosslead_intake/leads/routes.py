"""``/v1/leads``: submit a lead, follow its life, accept or reject an offered one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.api.deps import Caller, PartnerId, ReadSession, RuntimeDep
from crosslead_common.api.idempotency import IdempotencyKey, run_once
from crosslead_common.api.paging import Cursor, Limit, Page, decode_time_cursor, page_of
from crosslead_common.db import utcnow
from crosslead_intake.leads import service
from crosslead_intake.leads.duplicates import CustomerMatcher
from crosslead_intake.leads.schemas import (
    LeadAccepted,
    LeadIn,
    LeadOut,
    LeadStatsOut,
    LeadSubmitted,
    LeadSummaryOut,
    RejectIn,
    TimelineEntryOut,
)
from crosslead_intake.models import idempotency_keys
from crosslead_intake.partners.queries import get_partner

router = APIRouter(prefix="/v1/leads", tags=["leads"])


@router.post(
    "",
    status_code=202,
    response_model=LeadSubmitted,
    responses={
        202: {
            "description": "Stored durably; routing follows, unless the lead is a `duplicate` "
            "of an earlier one (`duplicate_of`) of the same customer and need."
        }
    },
)
async def submit_lead(
    body: LeadIn,
    partner_id: PartnerId,
    runtime: RuntimeDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    matcher: CustomerMatcher = request.app.state.customer_matcher

    async def submit(session: AsyncSession) -> dict[str, Any]:
        source = await get_partner(session, partner_id)
        assert source is not None  # authenticated by its key, so it exists
        lead = await service.submit_lead(session, source, body, matcher)
        original = await service.own_original(session, lead, partner_id)
        submitted = LeadSubmitted(id=lead.id, status=lead.status, duplicate_of=original)
        return submitted.model_dump(exclude_none=True)

    return await run_once(
        runtime.db,
        idempotency_keys,
        partner_id=partner_id,
        endpoint="POST /v1/leads",
        key=idempotency_key,
        body=body,
        status_code=202,
        action=submit,
    )


@router.get("", response_model=Page[LeadSummaryOut])
async def list_leads(
    *,
    principal: Caller,
    session: ReadSession,
    role: Annotated[
        Literal["sent", "received"] | None,
        Query(description="A partner's: the leads it sent (default) or those offered to it"),
    ] = None,
    status: Annotated[str | None, Query(max_length=32, description="Only leads in it")] = None,
    since: Annotated[datetime | None, Query(description="Only leads received since")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[LeadSummaryOut]:
    """Leads, newest first: the operator's all of them; a partner's those it sent, or with
    ``role=received`` those offered to it, each showing what ``GET /v1/leads/{id}`` shows
    that partner (a lead offered to it and then to another shows its own offer's status)."""
    rows = await service.list_leads(
        session,
        principal.partner_id,
        role=role,
        status=status,
        since=since,
        before=decode_time_cursor(cursor),
        limit=limit + 1,
    )
    return page_of(rows, limit, lambda r: (r.lead.created_at.isoformat(), r.lead.id), _summary)


def _summary(row: service.LeadRow) -> LeadSummaryOut:
    lead = row.lead
    return LeadSummaryOut(
        id=lead.id,
        status=row.status,
        need=lead.need,
        region=lead.region,
        source_partner_id=lead.source_partner_id,
        target_partner_id=row.target_partner_id,
        external_id=lead.external_id,
        created_at=lead.created_at,
    )


@router.get("/stats", response_model=LeadStatsOut)
async def lead_stats(
    principal: Caller,
    session: ReadSession,
    window: Annotated[Literal["24h", "7d"], Query(description="How far back")] = "24h",
) -> LeadStatsOut:
    """How many leads received in the last ``window`` have each status: all of them for the
    operator, a partner's sent ones for a partner."""
    since, counts = await service.lead_stats(session, principal.partner_id, window, utcnow())
    return LeadStatsOut(window=window, since=since, total=sum(counts.values()), counts=counts)


@router.get("/{lead_id}", response_model=LeadOut)
async def get_lead(lead_id: str, principal: Caller, session: ReadSession) -> LeadOut:
    """The lead's status and its lifecycle facts in order (admin, the source, or a partner it
    was offered to). The source and the operator see every fact; a partner it was offered to
    sees only the facts of its own offer and deals, never the routing decision."""
    view = await service.read_lead(session, lead_id, principal.partner_id)
    lead = view.lead
    return LeadOut(
        id=lead.id,
        status=view.status,
        need=lead.need,
        region=lead.region,
        source_partner_id=lead.source_partner_id,
        target_partner_id=view.target_partner_id,
        duplicate_of=view.duplicate_of,
        external_id=lead.external_id,
        created_at=lead.created_at,
        timeline=[TimelineEntryOut(type=e.type, at=e.at, **e.details) for e in view.timeline],
    )


@router.post("/{lead_id}/accept", status_code=202, response_model=LeadAccepted)
async def accept_lead(lead_id: str, partner_id: PartnerId, runtime: RuntimeDep) -> LeadAccepted:
    async with runtime.db.transaction() as session:
        lead = await service.answer_offer(session, partner_id, lead_id, accept=True)
    return LeadAccepted(id=lead.id, status=lead.status)


@router.post("/{lead_id}/reject", status_code=202, response_model=LeadAccepted)
async def reject_lead(
    lead_id: str,
    partner_id: PartnerId,
    runtime: RuntimeDep,
    body: Annotated[RejectIn | None, Body()] = None,
) -> LeadAccepted:
    async with runtime.db.transaction() as session:
        lead = await service.answer_offer(
            session, partner_id, lead_id, accept=False, reason=body.reason if body else None
        )
    return LeadAccepted(id=lead.id, status=lead.status)
