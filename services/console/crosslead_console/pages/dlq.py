"""Dead letters (operator): each service's parked messages, one with its body, and redriving
it once its cause is fixed, through the services' dead-letter API."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crosslead_console.client import ApiError
from crosslead_console.web import Signed, not_found, read_form, redirect, render

router = APIRouter()

SERVICES = ("intake", "router", "payouts")
OUTCOMES = {
    "applied": "Redriven: the message was applied.",
    "duplicate": "Redriven: it had already been applied, so nothing changed.",
    "dead_lettered": "Redriven, but it failed again and was parked again.",
}


def _unknown(request: Request, who: Signed) -> Response:
    return not_found(request, who, ApiError(404, {"title": "Not Found"}))


@router.get("/dead-letters")
async def dead_letters(request: Request, who: Signed) -> Response:
    """Every service's dead letters; a service that cannot answer says why, and a caller that
    no service lets read them sees the refusal."""

    async def of(service: str) -> dict[str, Any] | ApiError:
        try:
            return {"items": (await who.api.dead_letters(service)).get("items", [])}
        except ApiError as exc:
            return exc

    found = await asyncio.gather(*(of(service) for service in SERVICES))
    refusals = [f for f in found if isinstance(f, ApiError) and f.status in (401, 403)]
    if len(refusals) == len(SERVICES):
        return not_found(request, who, refusals[0])
    shown = {
        service: {"items": [], "error": f.message} if isinstance(f, ApiError) else f
        for service, f in zip(SERVICES, found, strict=True)
    }
    return render(request, "dead_letters.html", who, services=shown)


@router.get("/dead-letters/{service}/{letter_id}")
async def dead_letter(request: Request, who: Signed, service: str, letter_id: str) -> Response:
    if service not in SERVICES:
        return _unknown(request, who)
    try:
        letter = await who.api.dead_letter(service, letter_id)
    except ApiError as exc:
        return not_found(request, who, exc)
    outcome = OUTCOMES.get(request.query_params.get("outcome", ""))
    return render(request, "dead_letter.html", who, service=service, letter=letter, outcome=outcome)


@router.post("/dead-letters/{service}/{letter_id}/redrive")
async def redrive(request: Request, who: Signed, service: str, letter_id: str) -> Response:
    await read_form(request, who)
    if service not in SERVICES:
        return _unknown(request, who)
    try:
        result = await who.api.redrive_dead_letter(service, letter_id)
    except ApiError as exc:
        return not_found(request, who, exc)
    outcome = str(result.get("outcome", ""))
    return redirect(request, "/dead-letters/{}/{}?outcome=" + outcome, service, letter_id)
