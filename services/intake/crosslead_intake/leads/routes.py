"""``/v1/leads``: submit a lead, follow its life, accept or reject an offered one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.api.contract import raises
from crosslead_common.api.deps import Caller, PartnerId, ReadSession, RuntimeDep
from crosslead_common.api.idempotency import IdempotencyKey, run_once
from crosslead_common.api.paging import Cursor, Limit, Page, decode_time_cursor, page_of
from crosslead_common.customers import CustomerVault
from crosslead_common.db import utcnow
from crosslead_common.domain import Conflict
from crosslead_intake.leads import service
from crosslead_intake.leads.duplicates import CustomerMatcher
from crosslead_intake.leads.schemas import (
    CustomerOut,
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
    """Submit a warmed-up lead (a partner's API key). It is stored before the 202; the router
    then offers it to the partner that fits best, which learns it by a `lead.offered`
    webhook. Follow it with `GET /v1/leads/{id}`."""
    matcher: CustomerMatcher = request.app.state.customer_matcher
    vault: CustomerVault = request.app.state.customer_vault

    async def submit(session: AsyncSession) -> dict[str, Any]:
        source = await get_partner(session, partner_id)
        assert source is not None  # authenticated by its key, so it exists
        lead = await service.submit_lead(session, source, body, matcher, vault)
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
async def get_lead(
    lead_id: str, principal: Caller, session: ReadSession, request: Request
) -> LeadOut:
    """The lead's status and its lifecycle facts in order (admin, the source, or a partner it
    was offered to). The source and the operator see every fact and the customer; a partner it
    was offered to sees only the facts of its own offer and deals, never the routing decision,
    and the customer only once it accepted the lead."""
    vault: CustomerVault = request.app.state.customer_vault
    view = await service.read_lead(session, lead_id, principal.partner_id, vault)
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
        customer=CustomerOut.model_validate(view.customer) if view.customer else None,
        customer_erased_at=lead.customer_erased_at,
        timeline=[TimelineEntryOut(type=e.type, at=e.at, **e.details) for e in view.timeline],
    )


ANSWER_CONFLICTS = raises(
    Conflict,
    kinds=["lead-being-routed"],
    conflict="The lead is not (or no longer) offered to the caller, or its offer closed; "
    "`lead-being-routed`: it may be offered to the caller in a moment, retry",
)


@router.post(
    "/{lead_id}/accept", status_code=202, response_model=LeadAccepted, responses=ANSWER_CONFLICTS
)
async def accept_lead(lead_id: str, partner_id: PartnerId, runtime: RuntimeDep) -> LeadAccepted:
    """Accept the lead offered to the caller (before its `accept_by`); the source learns it
    by a `lead.accepted` webhook, and the caller may then report deals on it."""
    async with runtime.db.transaction() as session:
        lead = await service.answer_offer(session, partner_id, lead_id, accept=True)
    return LeadAccepted(id=lead.id, status=lead.status)


@router.post(
    "/{lead_id}/reject", status_code=202, response_model=LeadAccepted, responses=ANSWER_CONFLICTS
)
async def reject_lead(
    lead_id: str,
    partner_id: PartnerId,
    runtime: RuntimeDep,
    body: Annotated[RejectIn | None, Body()] = None,
) -> LeadAccepted:
    """Turn down the lead offered to the caller, with an optional `reason`; the router offers
    it to the next partner that fits."""
    async with runtime.db.transaction() as session:
        lead = await service.answer_offer(
            session, partner_id, lead_id, accept=False, reason=body.reason if body else None
        )
    return LeadAccepted(id=lead.id, status=lead.status)
