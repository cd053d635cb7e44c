"""RFC 9457 problem details for every error a client can cause: the one place where domain
errors (``crosslead_common.domain``) become HTTP responses.

Each kind of error has a stable ``type`` URI (``https://crosslead.dev/problems/<slug>``).
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
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crosslead_common.domain import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidField,
    NotFound,
    Unauthorized,
)

__all__ = [
    "PROBLEM_JSON",
    "PROBLEM_TYPES",
    "PROBLEM_TYPE_BASE",
    "BodySizeLimit",
    "FieldError",
    "Problem",
    "ProblemDetails",
    "RejectNul",
    "install_problem_handlers",
    "problem_for",
    "slug_of",
    "title_of",
]

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://crosslead.dev/problems/"

#: The ``type`` slug of each status; a 409 may name a more precise one (``lead-being-routed``).
_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation",
    429: "rate-limited",
    500: "internal",
    503: "unavailable",
}

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
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


#: Every ``type`` slug (after ``PROBLEM_TYPE_BASE``) and what it means; docs/API.md lists them.
PROBLEM_TYPES = {
    "validation": "invalid input (422); `errors` names each field at fault",
    "unauthorized": "missing or wrong bearer token (401)",
    "forbidden": "the token may not do this (403)",
    "not-found": "unknown, or another partner's, object (404)",
    "conflict": "the object is not in a state that allows this (409)",
    "lead-being-routed": "the lead may be offered to the caller in a moment; retry (409)",
    "payload-too-large": "request body over 64 KiB (413)",
    "method-not-allowed": "the path does not take this method (405)",
    "unsupported-media-type": "the body is not of a type the operation takes (415)",
    "bad-request": "a request that cannot be read (400)",
    "rate-limited": "over a rate limit; `Retry-After` says when to retry (429)",
    "unavailable": "the service cannot be reached right now; retry later (503)",
    "internal": "an unexpected failure, without internals (500)",
}


def slug_of(status: int) -> str:
    """The ``type`` slug of an error with ``status`` (a 409 may name a more precise one)."""
    return _SLUGS.get(status, "error")


def title_of(status: int) -> str:
    return _TITLES.get(status, "Error")


class FieldError(BaseModel):
    """One field at fault and what is wrong with it."""

    field: str = Field(description="Dotted path of the field: `customer.phone`, `body.0`")
    message: str


class ProblemDetails(BaseModel):
    """The body of every error response (RFC 9457, `application/problem+json`)."""

    model_config = ConfigDict(title="Problem")

    type: str = Field(description="`https://crosslead.dev/problems/<kind>`, stable per kind")
    title: str = Field(description="The status's name (`Not Found`)")
    status: int = Field(description="The HTTP status code")
    detail: str | None = Field(None, description="What went wrong, for a person")
    errors: list[FieldError] | None = Field(
        None, description="Only for `validation`: each field at fault"
    )


class Problem(Exception):
    """An error answered as ``application/problem+json``."""

    def __init__(
        self, status: int, detail: str | None = None, *, slug: str | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title_of(status)
        self.slug = slug or slug_of(status)
        self.detail = detail
        self.extra = extra

    @classmethod
    def invalid(cls, field: str, message: str) -> Problem:
        """A 422 for one field, shaped like a request validation error."""
        return cls(422, f"{field}: {message}", errors=[{"field": field, "message": message}])

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
        }
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


def problem_for(error: DomainError) -> Problem:
    """The HTTP answer to a domain error."""
    if isinstance(error, InvalidField):
        return Problem.invalid(error.field, error.message)
    if isinstance(error, NotFound):
        return Problem(404, error.detail)
    if isinstance(error, Conflict):
        return Problem(409, error.detail, slug=error.kind)
    if isinstance(error, Forbidden):
        return Problem(403, error.detail)
    if isinstance(error, Unauthorized):
        return Problem(401, error.detail)
    return Problem(400, error.detail)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return exc.response()

    async def on_domain(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return problem_for(exc).response()

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return Problem(exc.status_code, str(exc.detail)).response()

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [{"field": _field(e["loc"], exc.body), "message": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return Problem(422, detail, errors=errors).response()

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return Problem(500, "an unexpected error occurred").response()

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(DomainError, on_domain)
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
                too_large = Problem(413, f"request body is over {self.max_bytes} bytes")
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
