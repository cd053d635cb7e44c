"""The operator's pipeline (leads by status) and lists of leads (all for the operator, sent or
received for a partner), a lead's page (timeline, routing decision, deliveries), the
partner's inbox of offers, accepting and rejecting, and reporting a deal."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crosslead_console.client import ApiError
from crosslead_console.pages.forms import errors_of
from crosslead_console.web import Signed, not_found, read_form, redirect, render

router = APIRouter()

OPEN_OFFER = {"routed", "delivered"}
DEAL_FIELDS = {"lead_id", "external_id", "status", "amount", "currency"}
#: A lead's statuses in the order of its life, as intake documents them.
STATUSES = (
    "received",
    "duplicate",
    "waiting",
    "unroutable",
    "routed",
    "delivered",
    "accepted",
    "rejected",
    "expired",
    "converted",
    "refunded",
    "paid",
)
WINDOWS = {"24h": "last 24 hours", "7d": "last 7 days"}
ROLES = {"sent": "Sent", "received": "Received"}


@router.get("/pipeline")
async def pipeline(request: Request, who: Signed, window: str = "24h") -> Response:
    """Leads received in the window by their status now, as a chart and a table (the
    operator's; a partner's own leads are on its list of sent leads)."""
    if not who.is_operator:
        return redirect(request, "/leads")
    window = window if window in WINDOWS else "24h"
    try:
        stats = await who.api.lead_stats(window)
    except ApiError as exc:
        return not_found(request, who, exc)
    counts: dict[str, int] = stats.get("counts") or {}
    rows = [(status, counts.get(status, 0)) for status in STATUSES]
    rows += [(status, n) for status, n in sorted(counts.items()) if status not in STATUSES]
    return render(
        request, "pipeline.html", who, stats=stats, rows=rows, window=window, windows=WINDOWS
    )


@router.get("/leads")
async def leads(
    *,
    request: Request,
    who: Signed,
    id: str = "",
    role: str = "sent",
    status: str = "",
    cursor: str = "",
) -> Response:
    """Open a lead by id, or list leads: every lead for the operator, a partner's sent (or
    received) ones, newest first, a page at a time."""
    if id.strip():
        return redirect(request, "/leads/{}", id.strip())
    role = role if role in ROLES else "sent"
    error: str | None = None
    try:
        page = await who.api.leads(
            role=None if who.is_operator else role,
            status=status or None,
            cursor=cursor or None,
        )
    except ApiError as exc:
        if exc.status != 422:
            return not_found(request, who, exc)
        page, error = {"items": []}, errors_of(exc, set())[1]
    return render(
        request, "leads.html", who, page=page, role=role, roles=ROLES, status_filter=status,
        statuses=STATUSES, error=error,
    )  # fmt: skip


@router.get("/leads/{lead_id}")
async def lead_page(request: Request, who: Signed, lead_id: str) -> Response:
    try:
        lead = await who.api.lead(lead_id)
    except ApiError as exc:
        return not_found(request, who, exc)
    mine = who.partner_id
    decisions = deliveries = None
    if who.is_operator or lead["source_partner_id"] == mine:
        decisions = await _or_none(who.api.routing_decisions(lead_id))
    if who.is_operator or lead.get("target_partner_id") == mine:
        deliveries = await _or_none(who.api.deliveries(lead_id=lead_id))
    is_target = mine is not None and lead.get("target_partner_id") == mine
    return render(
        request,
        "lead.html",
        who,
        lead=lead,
        decisions=(decisions or {}).get("decisions"),
        deliveries=(deliveries or {}).get("items"),
        accept_by=current_deadline(lead),
        can_answer=is_target and lead["status"] in OPEN_OFFER,
        can_report=is_target and lead["status"] not in OPEN_OFFER,
        message=request.query_params.get("done"),
    )


async def _or_none(call: Any) -> dict[str, Any] | None:
    try:
        result: dict[str, Any] = await call
    except ApiError:
        return None
    return result


def current_deadline(lead: dict[str, Any]) -> str | None:
    """``accept_by`` of the offer to the lead's current target."""
    for entry in reversed(lead.get("timeline") or []):
        if entry.get("type") == "routed" and entry.get("target_partner_id") == lead.get(
            "target_partner_id"
        ):
            deadline = entry.get("accept_by")
            return str(deadline) if deadline else None
    return None


@router.post("/leads/{lead_id}/answer")
async def answer(request: Request, who: Signed, lead_id: str) -> Response:
    form = await read_form(request, who)
    accept = form.get("answer") == "accept"
    try:
        await who.api.answer_lead(lead_id, accept, form.get("reason") or None)
    except ApiError as exc:
        return not_found(request, who, exc)
    return redirect(request, "/leads/{}?done=" + ("accepted" if accept else "rejected"), lead_id)


@router.get("/inbox")
async def inbox(request: Request, who: Signed) -> Response:
    """Offers addressed to this partner, newest first; those still open on top."""
    deliveries = (await who.api.deliveries(limit=100)).get("items", [])
    lead_ids = list(dict.fromkeys(d["lead_id"] for d in deliveries if d["kind"] == "offer"))
    leads = [
        lead
        for lead in await asyncio.gather(*(_or_none(who.api.lead(i)) for i in lead_ids[:30]))
        if lead is not None
    ]
    mine = who.partner_id
    waiting = [x for x in leads if x.get("target_partner_id") == mine and x["status"] in OPEN_OFFER]
    others = [x for x in leads if x not in waiting]
    deadlines = {lead["id"]: current_deadline(lead) for lead in leads}
    return render(request, "inbox.html", who, waiting=waiting, others=others, deadlines=deadlines)


@router.get("/deals")
async def deal_form(request: Request, who: Signed, lead_id: str = "") -> Response:
    return render(request, "deal.html", who, values={"lead_id": lead_id, "currency": "EUR"})


@router.post("/deals")
async def report_deal(request: Request, who: Signed) -> Response:
    form = await read_form(request, who)
    body = {name: form.get(name, "") for name in DEAL_FIELDS}
    try:
        created = await who.api.report_conversion(body)
    except ApiError as exc:
        errors, general = errors_of(exc, DEAL_FIELDS)
        return render(
            request, "deal.html", who, exc.status, values=form, errors=errors, general=general
        )
    return render(request, "deal.html", who, values={}, reported=created, lead_id=body["lead_id"])
