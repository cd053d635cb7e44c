"""Webhook endpoints and their deliveries.

A partner registers endpoints and manages each on its own page: status, event types, a test
event, the signing secret (shown, or rotated with an overlap), recovering failed deliveries
since a time, and the endpoint's delivery log with "retry now". The operator opens any
partner's endpoint the same way and has the webhook health page: every endpoint that is
disabled or failing, with the deliveries that failed or wait for another attempt."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from crosslead_console.client import ApiError
from crosslead_console.pages.forms import drop_blank, errors_of, optional_int
from crosslead_console.web import Signed, Who, not_found, read_form, redirect, render

router = APIRouter()

FIELDS = {"url", "description"}
EDIT_FIELDS = frozenset({"url", "description", "event_types"})
STATUSES = ("pending", "delivered", "failed", "cancelled")
#: Every webhook type an endpoint may receive (docs/API.md, "The webhook a partner receives").
EVENT_TYPES = (
    "lead.offered",
    "lead.withdrawn",
    "lead.contact",
    "lead.delivered",
    "lead.accepted",
    "lead.rejected",
    "lead.unroutable",
    "lead.converted",
    "commission.accrued",
    "commission.reversed",
    "payout.settled",
    "webhook.test",
)
#: How far back "recover since" may reach (the API's limit), and its default.
RECOVER_DAYS = 14
PAGE = 20
#: Query parameters that report what the last action did.
NOTICES = frozenset({"sent", "saved", "recovered", "retried"})
#: Where a form may send the browser back to: a console path, never another site.
BACK = re.compile(r"/[A-Za-z0-9/_.-]{0,200}(\?[A-Za-z0-9_.=&%-]{0,400})?")


def since_value(local: str) -> str:
    """A ``datetime-local`` input (read as UTC) → RFC 3339; anything else is passed on for
    the API to refuse next to the field."""
    try:
        parsed = datetime.fromisoformat(local)
    except ValueError:
        return local
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.isoformat()


def local_input(moment: datetime) -> str:
    """The value a ``datetime-local`` input shows for ``moment`` (UTC, to the minute)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def here(request: Request) -> str:
    """This page's path and query, without the notices of the last action."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in NOTICES]
    return request.url.path + (f"?{urlencode(kept)}" if kept else "")


def back_to(form: dict[str, str], default: str) -> str:
    back = form.get("back", "")
    return back if BACK.fullmatch(back) and not back.startswith("//") else default


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


@router.get("/webhooks/health")
async def health(request: Request, who: Signed, recovered: str = "", retried: str = "") -> Response:
    """Endpoints that are disabled or failing (the operator: every partner's), and the
    deliveries that failed or that an attempt failed for and that wait for the next one."""
    try:
        found = await who.api.webhook_health(unhealthy=True)
        failed = await who.api.deliveries(status="failed", limit=PAGE)
        pending = await who.api.deliveries(status="pending", limit=200)
    except ApiError as exc:
        return not_found(request, who, exc)
    waiting = [d for d in pending.get("items", []) if d.get("attempts")][:PAGE]
    return render(
        request, "webhook_health.html", who, endpoints=found.get("items", []),
        since=found.get("since"), failed=failed.get("items", []), waiting=waiting,
        recover_default=local_input(datetime.now(UTC) - timedelta(days=1)),
        recovered=optional_int(recovered), retried=retried, back=here(request),
    )  # fmt: skip


async def _endpoint_page(
    request: Request,
    who: Who,
    endpoint_id: str,
    *,
    status: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    general: str | None = None,
    **context: Any,
) -> Response:
    """An endpoint's page: its settings, health and one page of its deliveries."""
    query = request.query_params if request.method == "GET" else QueryParams()
    selected = query.get("status", "")
    page_path = f"/webhooks/{quote(endpoint_id, safe='')}"
    try:
        listed = await who.api.webhook_endpoints()
        endpoint = next((e for e in listed.get("items", []) if e["id"] == endpoint_id), None)
        if endpoint is None:
            raise ApiError(404, {"title": "Not Found"})
        found = await who.api.webhook_health()
        deliveries = await who.api.deliveries(
            endpoint_id=endpoint_id,
            status=selected if selected in STATUSES else None,
            cursor=query.get("cursor") or None,
            limit=PAGE,
        )
    except ApiError as exc:
        return not_found(request, who, exc)
    stats: dict[str, Any] = next((h for h in found.get("items", []) if h["id"] == endpoint_id), {})
    shown = values or {
        "url": endpoint["url"],
        "description": endpoint.get("description") or "",
        "event_types": endpoint["event_types"],
        "since": local_input(datetime.now(UTC) - timedelta(days=1)),
        "previous_valid_for_seconds": "86400",
    }
    response = render(
        request, "webhook.html", who, status, endpoint=endpoint, stats=stats, values=shown,
        errors=errors or {}, general=general, event_types=EVENT_TYPES,
        deliveries=deliveries.get("items", []), next_cursor=deliveries.get("next_cursor"),
        selected=selected, statuses=STATUSES, page_path=page_path,
        back=here(request) if request.method == "GET" else page_path,
        sent=query.get("sent"), saved=query.get("saved") == "1",
        recovered=optional_int(query.get("recovered", "")), retried=query.get("retried"),
        **context,
    )  # fmt: skip
    if "secret" in context:
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/webhooks/{endpoint_id}")
async def endpoint_page(request: Request, who: Signed, endpoint_id: str) -> Response:
    return await _endpoint_page(request, who, endpoint_id)


async def _refused(
    request: Request,
    who: Who,
    endpoint_id: str,
    exc: ApiError,
    *,
    form: dict[str, Any] | None = None,
    fields: set[str] | frozenset[str] = frozenset(),
) -> Response:
    """The endpoint page again with what was typed and the API's errors next to the fields."""
    if exc.not_found:
        return not_found(request, who, exc)
    errors, general = errors_of(exc, set(fields))
    defaults = {
        "since": local_input(datetime.now(UTC) - timedelta(days=1)),
        "previous_valid_for_seconds": "86400",
    }
    return await _endpoint_page(
        request, who, endpoint_id, status=exc.status, values=defaults | (form or {}),
        errors=errors,
        general=general,
    )  # fmt: skip


@router.post("/webhooks/{endpoint_id}")
async def update_endpoint(request: Request, who: Signed, endpoint_id: str) -> Response:
    """URL, description and the event types it receives (none ticked: the API refuses it)."""
    form = await read_form(request, who)
    raw = (await request.body()).decode("utf-8", "replace")
    types = [v for k, v in parse_qsl(raw) if k == "event_types"]  # read_form keeps one
    changes = {
        "url": form.get("url", ""),
        "description": form.get("description") or None,
        "event_types": types,
    }
    try:
        await who.api.update_webhook_endpoint(endpoint_id, changes)
    except ApiError as exc:
        return await _refused(
            request, who, endpoint_id, exc, form={**form, "event_types": types},
            fields=EDIT_FIELDS,
        )  # fmt: skip
    return redirect(request, "/webhooks/{}?saved=1", endpoint_id)


@router.post("/webhooks/{endpoint_id}/status")
async def set_status(request: Request, who: Signed, endpoint_id: str) -> Response:
    form = await read_form(request, who)
    try:
        await who.api.update_webhook_endpoint(endpoint_id, {"status": form.get("status", "")})
    except ApiError as exc:
        return await _refused(request, who, endpoint_id, exc)
    return redirect(request, "/webhooks/{}", endpoint_id)


@router.post("/webhooks/{endpoint_id}/test")
async def send_test(request: Request, who: Signed, endpoint_id: str) -> Response:
    await read_form(request, who)
    try:
        sent = await who.api.test_webhook_endpoint(endpoint_id)
    except ApiError as exc:
        return await _refused(request, who, endpoint_id, exc)
    return redirect(request, "/webhooks/{}?sent={}", endpoint_id, str(sent["delivery_id"]))


@router.post("/webhooks/{endpoint_id}/secret")
async def show_secret(request: Request, who: Signed, endpoint_id: str) -> Response:
    """The current signing secret, on a page that is not stored (a POST: never in a URL)."""
    await read_form(request, who)
    try:
        found = await who.api.webhook_secret(endpoint_id)
    except ApiError as exc:
        return await _refused(request, who, endpoint_id, exc)
    return await _endpoint_page(request, who, endpoint_id, secret=found["secret"])


@router.post("/webhooks/{endpoint_id}/rotate")
async def rotate_secret(request: Request, who: Signed, endpoint_id: str) -> Response:
    """A new secret, shown once; the old one keeps signing for the overlap asked for."""
    form = await read_form(request, who)
    overlap = optional_int(form.get("previous_valid_for_seconds", ""))
    try:
        rotated = await who.api.rotate_webhook_secret(
            endpoint_id, drop_blank({"previous_valid_for_seconds": overlap})
        )
    except ApiError as exc:
        return await _refused(
            request, who, endpoint_id, exc, form=form, fields={"previous_valid_for_seconds"}
        )
    return await _endpoint_page(
        request, who, endpoint_id, secret=rotated["secret"], rotated=True,
        overlap=overlap if overlap is not None else 86400,
    )  # fmt: skip


@router.post("/webhooks/{endpoint_id}/recover")
async def recover(request: Request, who: Signed, endpoint_id: str) -> Response:
    """Every delivery to it that failed since the time given (UTC) is attempted again."""
    form = await read_form(request, who)
    try:
        done = await who.api.recover_webhook_endpoint(
            endpoint_id, {"since": since_value(form.get("since", ""))}
        )
    except ApiError as exc:
        return await _refused(request, who, endpoint_id, exc, form=form, fields={"since"})
    back = back_to(form, f"/webhooks/{endpoint_id}")
    joiner = "&" if "?" in back else "?"
    return redirect(request, back + joiner + "recovered={}", str(done["count"]))


@router.post("/webhooks/{endpoint_id}/delete")
async def delete_endpoint(request: Request, who: Signed, endpoint_id: str) -> Response:
    await read_form(request, who)
    try:
        await who.api.delete_webhook_endpoint(endpoint_id)
    except ApiError as exc:
        return not_found(request, who, exc)
    return redirect(request, "/webhooks")


@router.post("/deliveries/{delivery_id}/retry")
async def retry_delivery(request: Request, who: Signed, delivery_id: str) -> Response:
    """Attempt a pending or failed delivery now; back to the page the button was on."""
    form = await read_form(request, who)
    try:
        await who.api.retry_delivery(delivery_id)
    except ApiError as exc:
        return not_found(request, who, exc)
    back = back_to(form, "/deliveries")
    joiner = "&" if "?" in back else "?"
    return redirect(request, back + joiner + "retried={}", delivery_id)


@router.get("/deliveries")
async def deliveries(
    request: Request,
    who: Signed,
    *,
    status: str = "",
    lead_id: str = "",
    cursor: str = "",
    retried: str = "",
) -> Response:
    """The newest deliveries (with every attempt), a page at a time, optionally only those
    in one status or about one lead."""
    try:
        found = await who.api.deliveries(
            lead_id=lead_id.strip() or None,
            status=status if status in STATUSES else None,
            cursor=cursor or None,
            limit=50,
        )
    except ApiError as exc:
        return not_found(request, who, exc)
    return render(
        request, "deliveries.html", who, deliveries=found.get("items", []), selected=status,
        lead_id=lead_id, statuses=STATUSES, next_cursor=found.get("next_cursor"),
        back=here(request), retried=retried,
    )  # fmt: skip
