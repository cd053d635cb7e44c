"""The console's ASGI app: pages, static files, sign-in redirects and security headers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from crosslead_console.client import ApiClient
from crosslead_console.pages import (
    agreements,
    auth,
    dlq,
    leads,
    money,
    partners,
    warmup,
    webhooks,
)
from crosslead_console.sessions import SessionStore
from crosslead_console.settings import ConsoleSettings
from crosslead_console.web import Console, FormError, SignInRequired, redirect, render

__all__ = ["create_app"]

SERVICES = ("intake", "router", "payouts")

SECURITY_HEADERS = {
    # Everything the pages use is served by the console itself; no inline script runs.
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    # httpx logs every request URL at INFO; the console keeps its logs to warnings.
    logging.getLogger("httpx").setLevel(logging.WARNING)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.console.client.aclose()

    app = FastAPI(
        title="Crosslead console", docs_url=None, redoc_url=None, openapi_url=None,
        lifespan=lifespan,
    )  # fmt: skip
    app.state.console = Console(
        settings=settings,
        sessions=SessionStore(idle_seconds=settings.session_idle_minutes * 60),
        client=ApiClient(settings),
    )
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for module in (auth, leads, partners, agreements, money, webhooks, warmup, dlq):
        app.include_router(module.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return PlainTextResponse("ok", headers={"x-crosslead-service": "console"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        """Ready when intake, router and payouts all answer their health checks."""
        down = await app.state.console.client.unreachable(SERVICES)
        if down:
            return PlainTextResponse(f"unreachable: {', '.join(down)}", status_code=503)
        return PlainTextResponse("ok", headers={"x-crosslead-service": "console"})

    async def to_sign_in(request: Request, _: Exception) -> Response:
        return redirect(request, "/sign-in")

    async def refused_form(request: Request, exc: Exception) -> Response:
        return render(request, "error.html", None, 403, message=str(exc))

    app.add_exception_handler(SignInRequired, to_sign_in)
    app.add_exception_handler(FormError, refused_form)
    app.add_middleware(BaseHTTPMiddleware, dispatch=_security_headers)
    return app


async def _security_headers(request: Request, call_next: RequestResponseEndpoint) -> Response:
    response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    if not request.url.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
