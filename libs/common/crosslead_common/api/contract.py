"""The OpenAPI contract of every service, declared once so that every route follows it
without saying so:

- ``operationId`` is the route function's name (``create_partner``, ``list_deliveries``);
  names are unique across the services (``tests/unit/test_openapi_contract.py`` checks).
- The bearer security scheme comes with the auth dependency (:data:`BEARER`): an operation
  that authenticates shows it, a public one (``/healthz``) does not.
- Every error response refers to one ``Problem`` component (``application/problem+json``).
- The error statuses an operation can answer follow from what it is: every operation can
  answer 422 (bad input, also a NUL character in the path or query, refused before any
  route) and 429 (the rate limits are in front of every route), and 503 when the gateway
  routes it (while the service cannot be reached); an authenticated one 401; a dependency
  marked with :func:`answers` adds its own (``PartnerId`` and ``AdminOnly``: 403); a path
  parameter adds 404, a method with a body 413. What only the use case knows (a 409) a
  route declares with :func:`raises`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.security import HTTPBearer

from crosslead_common.api.problems import (
    PROBLEM_JSON,
    PROBLEM_TYPE_BASE,
    PROBLEM_TYPES,
    ProblemDetails,
    slug_of,
    title_of,
)
from crosslead_common.domain import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidField,
    NotFound,
    Unauthorized,
)
from crosslead_common.openapi_merge import GATEWAY_LOCAL

__all__ = ["BEARER", "answers", "complete_document", "operation_id", "raises"]

F = TypeVar("F", bound=Callable[..., Any])

#: The security scheme of every authenticated operation (the auth dependency declares it).
BEARER = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="admin token or API key",
    description="The operator's admin token (`CROSSLEAD_ADMIN_TOKEN`) or a partner's API key "
    "(`clk_…`, returned once when the partner is created).",
    auto_error=False,  # a missing token is a 401 problem from the auth dependency
)

#: What each error status means, for every operation that can answer it.
DESCRIPTIONS = {
    401: "Missing or wrong bearer token",
    403: "The token may not call this operation (an operator's or a partner's only)",
    404: "Unknown, or another partner's, object",
    409: "The object is not in a state that allows this",
    413: "Request body over 64 KiB",
    422: "Invalid input; `errors` names each field at fault",
    429: "Over a rate limit; `Retry-After` says in how many seconds to retry",
    503: "The service cannot be reached right now (answered by the gateway); retry later",
}

_STATUS_OF: dict[type[DomainError], int] = {
    InvalidField: 422,
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unauthorized: 401,
}
_MARK = "__crosslead_answers__"
_KINDS = "x-problem-types"  # in a route's ``responses``, never in the document
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: Every operation can answer these (the middleware of every service).
_EVERY = frozenset({422, 429})


def operation_id(route: APIRoute) -> str:
    """The ``operationId`` of ``route``: its function's (or given) name."""
    return route.name


def answers(*statuses: int) -> Callable[[F], F]:
    """Mark a dependency: every operation that depends on it can answer ``statuses``."""

    def mark(dependency: F) -> F:
        setattr(dependency, _MARK, frozenset(statuses) | getattr(dependency, _MARK, frozenset()))
        return dependency

    return mark


def raises(
    *errors: type[DomainError], kinds: Sequence[str] = (), **descriptions: str
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route whose use case raises ``errors`` beyond what its
    dependencies imply; ``conflict="…"`` (etc.: the error's name in lower case) says when,
    ``kinds`` names the more precise ``type`` slugs it may carry (``lead-being-routed``)."""
    found: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        status = next(s for kind, s in _STATUS_OF.items() if issubclass(error, kind))
        description = descriptions.get(error.__name__.lower(), DESCRIPTIONS[status])
        found[status] = {"description": description, _KINDS: list(kinds)}
    return found


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def error_statuses(route: APIRoute | RouteContext) -> set[int]:
    """The error statuses ``route`` can answer (see the module's docstring)."""
    found: set[int] = set()
    for call in _calls(route.dependant):
        found |= getattr(call, _MARK, frozenset())
    found |= {int(s) for s in route.responses if str(s).isdigit() and int(s) >= 400}
    found |= _EVERY
    path = str(route.path_format)
    if path.startswith("/v1/") or path in GATEWAY_LOCAL:
        found.add(503)
    if route.dependant.path_params:
        found.add(404)
    if (route.methods or set()) & _BODY_METHODS:
        found.add(413)
    return found


def _own_body(response: dict[str, Any]) -> bool:
    """Whether a route declared a body of its own for an error status (``/readyz``)."""
    return bool(response.get("content") or response.get("model"))


def _problem_response(status: int, description: str, kinds: Sequence[str]) -> dict[str, Any]:
    """A response of the ``Problem`` schema, with an example of each ``type`` it may carry."""
    examples = {
        slug: {
            "summary": PROBLEM_TYPES[slug],
            "value": {
                "type": PROBLEM_TYPE_BASE + slug,
                "title": title_of(status),
                "status": status,
                "detail": PROBLEM_TYPES[slug],
            },
        }
        for slug in [slug_of(status), *kinds]
    }
    return {
        "description": description,
        "content": {
            PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}, "examples": examples}
        },
    }


def _problem_schemas() -> dict[str, Any]:
    schema = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    kinds = "; ".join(
        f"`{PROBLEM_TYPE_BASE}{slug}`: {what}" for slug, what in PROBLEM_TYPES.items()
    )
    schema["properties"]["type"]["description"] += f". The kinds: {kinds}."
    return {**defs, "Problem": schema}


def complete_document(document: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    """Give ``document`` (``app``'s OpenAPI, as FastAPI built it) the error responses above,
    each referring to the one ``Problem`` component; returns it, changed in place."""
    paths = document.get("paths", {})
    for route in iter_route_contexts(app.routes):  # also those of included routers
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        declared = {int(s): r for s, r in route.responses.items() if str(s).isdigit()}
        statuses = error_statuses(route)
        for method in route.methods or ():
            operation = paths[route.path_format][method.lower()]
            responses = operation["responses"]
            for status in [s for s in responses if int(s) >= 400]:
                if not _own_body(declared.get(int(status), {})):
                    del responses[status]  # FastAPI's own 422 schema, or one redone below
            for status in sorted(statuses):
                own = declared.get(status, {})
                if _own_body(own):
                    continue  # a route's own error body (``/readyz``)
                description = own.get("description") or DESCRIPTIONS[status]
                kinds = own.get(_KINDS, ())
                responses[str(status)] = _problem_response(status, description, kinds)
            operation["responses"] = dict(sorted(responses.items()))
    for item in document.get("webhooks", {}).values():
        for operation in item.values():
            operation["responses"].pop("422", None)  # a receiver's answers are its own
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    if "HTTPValidationError" not in json.dumps([paths, document.get("webhooks", {})]):
        schemas.pop("HTTPValidationError", None)  # replaced by Problem everywhere
        schemas.pop("ValidationError", None)
    schemas.update(_problem_schemas())
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    return document
