"""Sign-in with the operator token or a partner API key, sign-out, and the home page."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crosslead_console.api import Crosslead
from crosslead_console.client import ApiClient, ApiError
from crosslead_console.web import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    Signed,
    console_of,
    prefix,
    read_form,
    redirect,
    render,
    set_cookie,
)

router = APIRouter()


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    return _sign_in_form(request)


def _sign_in_form(request: Request, error: str | None = None, status: int = 200) -> Response:
    login_csrf = secrets.token_urlsafe(32)
    response = render(request, "sign_in.html", status=status, login_csrf=login_csrf, error=error)
    set_cookie(request, response, LOGIN_CSRF_COOKIE, login_csrf)
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await read_form(request)
    token = form.get("token", "")
    if not token:
        return _sign_in_form(request, "Enter the operator token or your API key.", 422)
    console = console_of(request)
    try:
        partner_id = await _identify(console.client, token)
    except ApiError as exc:
        return _sign_in_form(request, exc.message, exc.status)
    console.sessions.delete(request.cookies.get(COOKIE))
    session_id, _ = console.sessions.create(token, partner_id)
    response = redirect(request, "/")
    set_cookie(request, response, COOKIE, session_id)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=prefix(request) or "/")
    return response


async def _identify(client: ApiClient, token: str) -> str | None:
    """The partner the token belongs to, None for the operator's token. A partner's own
    statement names it; the operator's call without ``partner_id`` is refused with a 422."""
    api = Crosslead(client, token)
    try:
        return str((await api.statement())["partner_id"])
    except ApiError as exc:
        if exc.status == 422 and "partner_id" in exc.field_errors:
            return None
        if exc.status == 401:
            await _known_to_intake(api)
        raise


async def _known_to_intake(api: Crosslead) -> None:
    """A brand-new key that intake accepts but payouts has not heard of yet."""
    try:
        await api.pitch_cards()
    except ApiError:
        return
    raise ApiError(
        503,
        {
            "title": "Not ready yet",
            "detail": "this key is new and not yet known to every service; try again shortly",
        },
    )


@router.post("/sign-out")
async def sign_out(request: Request, who: Signed) -> Response:
    await read_form(request, who)
    console_of(request).sessions.delete(who.session_id)
    response = redirect(request, "/sign-in")
    response.delete_cookie(COOKIE, path=prefix(request) or "/")
    return response


@router.get("/")
async def home(request: Request, who: Signed) -> Response:
    return redirect(request, "/pipeline" if who.is_operator else "/inbox")
