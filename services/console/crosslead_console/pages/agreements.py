"""Agreements: the operator lists (all, or one partner's), creates, opens and ends them; a
partner lists and opens the ones it is party to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crosslead_console.client import ApiError
from crosslead_console.pages.forms import errors_of, optional_int, words
from crosslead_console.web import Signed, not_found, read_form, redirect, render

router = APIRouter()

FIELDS = {
    "source_partner_id",
    "target_partner_id",
    "categories",
    "commission",
    "manager_share",
    "accept_within_seconds",
    "priority",
    "holding_days",
}
DEFAULTS = {"commission.type": "percent", "manager_share": "0", "priority": "0"}


def agreement_body(form: dict[str, str]) -> dict[str, Any]:
    kind = form.get("commission.type", "percent")
    if kind == "flat":
        commission = {
            "type": "flat",
            "amount": form.get("commission.amount", ""),
            "currency": form.get("commission.currency", ""),
        }
    else:
        commission = {"type": kind, "rate": form.get("commission.rate", "")}
    body: dict[str, Any] = {
        "source_partner_id": form.get("source_partner_id", ""),
        "target_partner_id": form.get("target_partner_id", ""),
        "categories": words(form.get("categories", "")),
        "commission": commission,
        "manager_share": form.get("manager_share", ""),
    }
    for name in ("accept_within_seconds", "priority", "holding_days"):
        if (value := optional_int(form.get(name, ""))) is not None:
            body[name] = value
    return body


@router.get("/agreements")
async def agreements(
    request: Request, who: Signed, id: str = "", partner_id: str = "", cursor: str = ""
) -> Response:
    if id.strip():
        return redirect(request, "/agreements/{}", id.strip())
    listed = await _listed(who, partner_id.strip(), cursor)
    return render(request, "agreements.html", who, values=DEFAULTS, **listed)


async def _listed(who: Signed, partner_id: str = "", cursor: str = "") -> dict[str, Any]:
    """A page of the agreements list, or why it could not be read."""
    error: str | None = None
    try:
        found = await who.api.agreements(partner_id or None, cursor or None)
    except ApiError as exc:
        found, error = {"items": []}, exc.message
    return {"listed": found, "list_error": error, "partner_id": partner_id}


@router.post("/agreements")
async def create_agreement(request: Request, who: Signed) -> Response:
    form = await read_form(request, who)
    try:
        created = await who.api.create_agreement(agreement_body(form))
    except ApiError as exc:
        errors, general = errors_of(exc, FIELDS)
        return render(
            request, "agreements.html", who, exc.status, values=form, errors=errors,
            general=general, **await _listed(who),
        )  # fmt: skip
    return redirect(request, "/agreements/{}", str(created["id"]))


@router.get("/agreements/{agreement_id}")
async def agreement_page(request: Request, who: Signed, agreement_id: str) -> Response:
    try:
        agreement = await who.api.agreement(agreement_id)
    except ApiError as exc:
        return not_found(request, who, exc)
    return render(request, "agreement.html", who, agreement=agreement)


@router.post("/agreements/{agreement_id}/end")
async def end_agreement(request: Request, who: Signed, agreement_id: str) -> Response:
    await read_form(request, who)
    try:
        await who.api.end_agreement(agreement_id)
    except ApiError as exc:
        return not_found(request, who, exc)
    return redirect(request, "/agreements/{}", agreement_id)
