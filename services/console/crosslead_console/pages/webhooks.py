"""Webhook endpoints (partner: register, list, delete) and the delivery log (a partner's
own deliveries; the operator's view of every delivery and its failing ones)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crosslead_console.client import ApiError
from crosslead_console.pages.forms import drop_blank, errors_of
from crosslead_console.web import Signed, not_found, read_form, redirect, render

router = APIRouter()

FIELDS = {"url", "description"}
STATUSES = ("pending", "delivered", "failed", "cancelled")


@router.get("/webhooks")
async def endpoints(request: Request, who: Signed) -> Response:
    try:
        found = await who.api.webhook_endpoints()
    except ApiError as exc:
        return not_found(request, who, exc)
    return render(request, "webhooks.html", who, endpoints=found.get("items", []), values={})


@router.post("/webhooks")
async def create_endpoint(request: Request, who: Signed) -> Response:
    form = await read_form(request, who)
    body = drop_blank({"url": form.get("url", ""), "description": form.get("description")})
    body.setdefault("url", "")
    try:
        created = await who.api.create_webhook_endpoint(body)
    except ApiError as exc:
        errors, general = errors_of(exc, FIELDS)
        listed = await who.api.webhook_endpoints()
        return render(
            request, "webhooks.html", who, exc.status, endpoints=listed.get("items", []),
            values=form, errors=errors, general=general,
        )  # fmt: skip
    listed = await who.api.webhook_endpoints()
    response = render(
        request, "webhooks.html", who, endpoints=listed.get("items", []), values={},
        created=created,
    )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"  # the signing secret is shown here once
    return response


@router.post("/webhooks/{endpoint_id}/delete")
async def delete_endpoint(request: Request, who: Signed, endpoint_id: str) -> Response:
    await read_form(request, who)
    try:
        await who.api.delete_webhook_endpoint(endpoint_id)
    except ApiError as exc:
        return not_found(request, who, exc)
    return redirect(request, "/webhooks")


@router.get("/deliveries")
async def deliveries(
    request: Request, who: Signed, status: str = "", lead_id: str = ""
) -> Response:
    """The newest deliveries (with every attempt), optionally only those in one status."""
    try:
        found = await who.api.deliveries(lead_id=lead_id.strip() or None, limit=200)
    except ApiError as exc:
        return not_found(request, who, exc)
    items = [d for d in found.get("items", []) if not status or d["status"] == status]
    return render(
        request, "deliveries.html", who, deliveries=items, selected=status, lead_id=lead_id,
        statuses=STATUSES,
    )  # fmt: skip
