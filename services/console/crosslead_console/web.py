"""What every page shares: the signed-in session, CSRF-checked forms, rendering, links that
honour the path prefix the console is served under, and the session cookie."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from crosslead_console import charts
from crosslead_console import format as fmt
from crosslead_console.api import Crosslead
from crosslead_console.client import ApiClient, ApiError
from crosslead_console.sessions import Session, SessionStore
from crosslead_console.settings import ConsoleSettings

__all__ = [
    "COOKIE",
    "Console",
    "FormError",
    "SignInRequired",
    "Signed",
    "Who",
    "prefix",
    "read_form",
    "redirect",
    "render",
]

COOKIE = "crosslead_console"
LOGIN_CSRF_COOKIE = "crosslead_console_login"
MAX_FORM_BYTES = 64 * 1024
PLAIN_PATH = re.compile(r"[A-Za-z0-9/_.-]{0,200}")

templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals["charts"] = charts
templates.globals["fmt"] = fmt


@dataclass
class Console:
    """The process-wide parts: settings, the session store and the API client."""

    settings: ConsoleSettings
    sessions: SessionStore
    client: ApiClient


class SignInRequired(Exception):
    """No live session: the user is sent to the sign-in page."""


class FormError(Exception):
    """A form that failed its CSRF check or was too large (nothing is changed)."""


@dataclass
class Who:
    """The signed-in party of one request and the API as it may call it."""

    session_id: str
    session: Session
    api: Crosslead

    @property
    def is_operator(self) -> bool:
        return self.session.is_operator

    @property
    def partner_id(self) -> str | None:
        return self.session.partner_id


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def prefix(request: Request) -> str:
    """The path the console is served under (``/console`` behind the gateway, else empty);
    a prefix header that is not a plain path is ignored."""
    forwarded = request.headers.get("x-forwarded-prefix", "")
    if not PLAIN_PATH.fullmatch(forwarded):
        forwarded = ""
    value = (forwarded or console_of(request).settings.root_path).strip("/")
    return "/" + value if value else ""


def signed_in(request: Request) -> Who:
    console = console_of(request)
    session_id = request.cookies.get(COOKIE)
    session = console.sessions.get(session_id)
    if session is None or session_id is None:
        raise SignInRequired
    return Who(session_id, session, Crosslead(console.client, session.token))


Signed = Annotated[Who, Depends(signed_in)]


async def read_form(request: Request, who: Who | None = None) -> dict[str, str]:
    """The posted fields, once the CSRF token matches the session's (or, on the sign-in
    form, the sign-in cookie's)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise FormError("the form is too large")
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    submitted = form.pop("csrf", "")
    if who is not None:
        valid = who.session.csrf_ok(submitted)
    else:
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        valid = bool(expected) and secrets.compare_digest(submitted, expected)
    if not valid:
        raise FormError("the form has expired; open the page again")
    return {k: v.strip() for k, v in form.items()}


def render(
    request: Request, template: str, who: Who | None = None, status: int = 200, **context: Any
) -> HTMLResponse:
    html = templates.get_template(template).render(
        request=request,
        who=who,
        csrf=who.session.csrf if who else "",
        root=prefix(request),
        **context,
    )
    return HTMLResponse(html, status_code=status)


def redirect(request: Request, path: str, *ids: str) -> RedirectResponse:
    """A 303 to ``path`` under the console's prefix; each ``{}`` in it is filled with one of
    ``ids``, quoted, so a typed-in id stays one path segment."""
    filled = path.format(*(quote(value, safe="") for value in ids))
    return RedirectResponse(prefix(request) + filled, status_code=303)


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """HttpOnly, SameSite=Strict, scoped to the console's path; Secure over https."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=prefix(request) or "/",
    )


def not_found(request: Request, who: Who, error: ApiError) -> HTMLResponse:
    """An API's error on a page's object: "not found" for a 404, else its message."""
    status = 404 if error.not_found else error.status
    return render(request, "error.html", who, status=status, message=error.message)
