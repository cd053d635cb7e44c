"""One ASGI middleware for every request: its span (continuing an incoming ``traceparent``),
its request id, its metrics and its one log line."""

from __future__ import annotations

import logging
import re
import time
import uuid

from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crosslead_common.observability.logs import bind
from crosslead_common.observability.metrics import HTTP_DURATION, HTTP_REQUESTS
from crosslead_common.observability.tracing import continue_trace

__all__ = ["Observe"]

log = logging.getLogger("crosslead.http")

_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
#: Routes scraped or polled often enough that a log line for each would drown the rest.
_QUIET = frozenset({"/metrics", "/healthz", "/readyz"})


class Observe:
    def __init__(self, app: ASGIApp, *, service: str, telemetry: bool = True) -> None:
        self.app = app
        self.service = service
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        request_id = given if _SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        method = scope["method"]
        with (
            continue_trace(
                f"{method}", headers, kind=SpanKind.SERVER, enabled=self.telemetry
            ) as span,
            bind(request_id=request_id),
        ):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route_obj = scope.get("route")
                route = getattr(route_obj, "path", None) or "unmatched"
                seconds = time.perf_counter() - started
                if self.telemetry:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.request.method", method)
                    span.set_attribute("http.route", route)
                    span.set_attribute("http.response.status_code", status)
                    labels = {"service": self.service, "route": route, "method": method}
                    HTTP_REQUESTS.labels(**labels, status=str(status)).inc()
                    HTTP_DURATION.labels(**labels).observe(seconds)
                if route not in _QUIET:
                    log.info(
                        "%s %s %d",
                        method,
                        route,
                        status,
                        extra={
                            "method": method,
                            "route": route,
                            "status": status,
                            "duration_ms": round(seconds * 1000, 1),
                        },
                    )
