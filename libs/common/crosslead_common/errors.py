"""RFC 9457 problem details for every error a client can cause.

Validation errors name the field at fault, both in ``detail`` and in ``errors[].field``; an
unexpected failure is a 500 without internals.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "PROBLEM_JSON",
    "PROBLEM_RESPONSES",
    "BodySizeLimit",
    "Problem",
    "ProblemDetails",
    "RejectNul",
    "install_problem_handlers",
]

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ProblemDetails(BaseModel):
    """The body of every error response (RFC 9457)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, str]] | None = Field(
        None, description='Each field at fault: `{"field": "customer.name", "message": …}`'
    )


#: The error responses every route may give, for the OpenAPI document.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": ProblemDetails.model_json_schema()}},
    }
    for status, description in {
        401: "Missing or wrong bearer token",
        403: "The token may not call this endpoint",
        404: "Unknown, or another partner's, object",
        413: "Request body over 64 KiB",
        422: "Invalid input; `errors` names each field at fault",
    }.items()
}


class Problem(Exception):
    """An error answered as ``application/problem+json``."""

    def __init__(
        self, status: int, title: str | None = None, detail: str | None = None, **extra: Any
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title or _TITLES.get(status, "Error")
        self.detail = detail
        self.extra = extra

    @classmethod
    def not_found(cls, what: str) -> Problem:
        return cls(404, "Not Found", f"{what} not found")

    @classmethod
    def invalid(cls, field: str, message: str) -> Problem:
        """A 422 for one field, shaped like a request validation error."""
        return cls(
            422,
            "Unprocessable Content",
            f"{field}: {message}",
            errors=[{"field": field, "message": message}],
        )

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"type": "about:blank", "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extra)
        return JSONResponse(body, status_code=self.status, media_type=PROBLEM_JSON)


def _field(loc: Sequence[int | str], body: Any = None) -> str:
    """The client's name for the field at ``loc``: ``commission.tiers.0.rate``, without the
    request part (``body``) and without the tag pydantic adds for a tagged union's member
    (``commission.tiered.tiers…``); items of a top-level array are ``body.0``, ``body.1``…"""
    parts = list(loc)
    if parts and parts[0] in {"query", "path", "header", "cookie"}:
        return ".".join(str(p) for p in parts[1:])
    if parts and parts[0] == "body":
        parts = parts[1:]
    names: list[str] = []
    node = body
    for part in parts:
        if isinstance(node, dict) and part not in node and node.get("type") == part:
            continue  # the union member pydantic tried, not a field the client sent
        names.append(str(part))
        node = _child(node, part)
    if not names or isinstance(parts[0], int):
        names.insert(0, "body")
    return ".".join(names)


def _child(node: Any, part: int | str) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return exc.response()

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return Problem(exc.status_code, None, str(exc.detail)).response()

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [{"field": _field(e["loc"], exc.body), "message": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return Problem(422, None, detail, errors=errors).response()

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return Problem(500, None, "an unexpected error occurred").response()

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_unexpected)


class RejectNul:
    """Answers 422 for a NUL character in the path or the query string (PostgreSQL cannot
    compare text containing one, so it must never reach a query)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            where = _nul_in(scope)
            if where is not None:
                problem = Problem.invalid(where, "must not contain NUL characters")
                await problem.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _nul_in(scope: Scope) -> str | None:
    if "\x00" in scope["path"]:
        return "path"
    for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "query"
    return None


class BodySizeLimit:
    """Answers 413 for request bodies over ``max_bytes`` before any route sees them."""

    def __init__(self, app: ASGIApp, max_bytes: int = 64 * 1024) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS", "DELETE"}:
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body.extend(message.get("body", b""))
            if len(body) > self.max_bytes:
                too_large = Problem(413, None, f"request body is over {self.max_bytes} bytes")
                await too_large.response()(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)
