"""Partner health (the pair report), pitch cards and cross-sell suggestions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crosslead_console.client import ApiError
from crosslead_console.pages.forms import errors_of
from crosslead_console.web import Signed, not_found, read_form, redirect, render

router = APIRouter()

CARD_FIELDS = {"category", "headline", "talking_points"}


@router.get("/health")
async def partner_health(request: Request, who: Signed) -> Response:
    """Each pair's flows in both windows, ``imbalanced`` pairs and ``agent_like`` partners
    marked."""
    try:
        report = await who.api.partner_report()
    except ApiError as exc:
        return not_found(request, who, exc)
    return render(request, "health.html", who, windows=report.get("windows", []))


@router.get("/pitch-cards")
async def pitch_cards(request: Request, who: Signed) -> Response:
    return await _cards_page(request, who, {})


async def _cards_page(
    request: Request, who: Signed, values: dict[str, str], status: int = 200, **context: object
) -> Response:
    try:
        cards = (await who.api.pitch_cards()).get("items", [])
    except ApiError as exc:
        return not_found(request, who, exc)
    return render(request, "pitch_cards.html", who, status, cards=cards, values=values, **context)


@router.post("/pitch-cards")
async def create_pitch_card(request: Request, who: Signed) -> Response:
    form = await read_form(request, who)
    body = {
        "category": form.get("category", ""),
        "headline": form.get("headline", ""),
        "talking_points": [p.strip() for p in form.get("talking_points", "").splitlines()
                           if p.strip()],
    }  # fmt: skip
    try:
        await who.api.create_pitch_card(body)
    except ApiError as exc:
        errors, general = errors_of(exc, CARD_FIELDS)
        return await _cards_page(request, who, form, exc.status, errors=errors, general=general)
    return redirect(request, "/pitch-cards")


@router.post("/pitch-cards/{card_id}/publish")
async def publish_pitch_card(request: Request, who: Signed, card_id: str) -> Response:
    await read_form(request, who)
    try:
        await who.api.publish_pitch_card(card_id)
    except ApiError as exc:
        return not_found(request, who, exc)
    return redirect(request, "/pitch-cards")


@router.get("/cross-sell")
async def cross_sell(request: Request, who: Signed, category: str = "") -> Response:
    found = error = None
    if category.strip():
        try:
            found = await who.api.cross_sell(category.strip())
        except ApiError as exc:
            error = errors_of(exc, {"category"})[0].get("category") or exc.message
    return render(request, "cross_sell.html", who, category=category, found=found, error=error)
