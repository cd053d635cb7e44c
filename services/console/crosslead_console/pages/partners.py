"""Partners: the operator lists them, registers one, opens one by id and disables or enables
it; the operator or the partner itself edits its routing settings, pausing included."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crosslead_console.client import ApiError
from crosslead_console.pages.forms import errors_of, optional_int, words
from crosslead_console.web import Signed, not_found, read_form, redirect, render

router = APIRouter()

SETTINGS = {"offers", "regions", "capacity_per_day", "capacity_per_hour", "availability", "paused"}
CREATE_FIELDS = {"name", *SETTINGS}


def settings_body(form: dict[str, str]) -> dict[str, Any]:
    """The routing settings as the API takes them; blank optional ones are ``null``."""
    availability = None
    if any(form.get(f"availability.{k}") for k in ("timezone", "weekdays", "start", "end")):
        availability = {
            "timezone": form.get("availability.timezone", ""),
            "weekdays": [optional_int(day) for day in words(form.get("availability.weekdays", ""))],
            "start": form.get("availability.start", ""),
            "end": form.get("availability.end", ""),
        }
    return {
        "offers": words(form.get("offers", "")),
        "regions": words(form.get("regions", "")),
        "capacity_per_day": optional_int(form.get("capacity_per_day", "")),
        "capacity_per_hour": optional_int(form.get("capacity_per_hour", "")),
        "availability": availability,
        "paused": form.get("paused") == "on",
    }


def form_values(partner: dict[str, Any]) -> dict[str, Any]:
    availability = partner.get("availability") or {}
    return {
        **partner,
        "offers": ", ".join(partner.get("offers", [])),
        "regions": ", ".join(partner.get("regions", [])),
        **{f"availability.{k}": v for k, v in availability.items() if k != "weekdays"},
        "availability.weekdays": ", ".join(str(d) for d in availability.get("weekdays", [])),
    }


@router.get("/partners")
async def partners(request: Request, who: Signed, id: str = "", cursor: str = "") -> Response:
    if id.strip():
        return redirect(request, "/partners/{}", id.strip())
    if not who.is_operator:
        return redirect(request, "/partners/{}", str(who.partner_id))
    return render(request, "partners.html", who, values={}, **await _listed(who, cursor))


async def _listed(who: Signed, cursor: str = "") -> dict[str, Any]:
    """A page of the partners list, or why it could not be read."""
    try:
        return {"listed": await who.api.partners(cursor=cursor or None)}
    except ApiError as exc:
        return {"listed": {"items": []}, "list_error": exc.message}


@router.post("/partners")
async def create_partner(request: Request, who: Signed) -> Response:
    form = await read_form(request, who)
    body = {"name": form.get("name", ""), **settings_body(form)}
    body = {k: v for k, v in body.items() if v is not None}
    try:
        created = await who.api.create_partner(body)
    except ApiError as exc:
        errors, general = errors_of(exc, CREATE_FIELDS)
        return render(
            request, "partners.html", who, exc.status, values=form, errors=errors,
            general=general, **await _listed(who),
        )  # fmt: skip
    response = render(request, "partner_created.html", who, partner=created)
    response.headers["Cache-Control"] = "no-store"  # the new key is shown only this once
    return response


@router.get("/partners/{partner_id}")
async def partner_page(request: Request, who: Signed, partner_id: str) -> Response:
    try:
        partner = await who.api.partner(partner_id)
    except ApiError as exc:
        return not_found(request, who, exc)
    saved = request.query_params.get("saved") == "1"
    return render(
        request, "partner.html", who, partner=partner, values=form_values(partner), saved=saved
    )


@router.post("/partners/{partner_id}")
async def update_partner(request: Request, who: Signed, partner_id: str) -> Response:
    form = await read_form(request, who)
    try:
        await who.api.update_partner(partner_id, settings_body(form))
    except ApiError as exc:
        if exc.not_found:
            return not_found(request, who, exc)
        errors, general = errors_of(exc, SETTINGS)
        partner = {"id": partner_id, "name": form.get("name", partner_id)}
        return render(
            request, "partner.html", who, exc.status,
            partner=partner, values=form, errors=errors, general=general,
        )  # fmt: skip
    return redirect(request, "/partners/{}?saved=1", partner_id)


@router.post("/partners/{partner_id}/status")
async def change_status(request: Request, who: Signed, partner_id: str) -> Response:
    """The operator disables a partner (its keys stop working, it gets no leads) or enables
    it again; the API refuses anyone else."""
    form = await read_form(request, who)
    status = "active" if form.get("status") == "active" else "disabled"
    try:
        await who.api.update_partner(partner_id, {"status": status})
    except ApiError as exc:
        return not_found(request, who, exc)
    return redirect(request, "/partners/{}?saved=1", partner_id)
