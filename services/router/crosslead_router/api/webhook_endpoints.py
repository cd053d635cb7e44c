"""``/v1/webhook-endpoints``: where a partner receives its webhooks, and managing them. A
partner acts on its own endpoints (another partner's are a 404); the operator on anyone's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from crosslead_common.api.deps import Caller, PartnerId, RuntimeDep, settings_of
from crosslead_common.domain import InvalidField, NotFound
from crosslead_router import endpoints
from crosslead_router.api.schemas import (
    RECOVER_WINDOW,
    EndpointCreated,
    EndpointHealthList,
    EndpointHealthOut,
    EndpointIn,
    EndpointList,
    EndpointOut,
    EndpointPatch,
    Recovered,
    RecoverIn,
    RotateIn,
    SecretOut,
    TestSent,
)
from crosslead_router.models import WebhookEndpoint
from crosslead_router.settings import RouterSettings
from crosslead_router.urls import UnsafeUrl, check_url

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhook endpoints"])


async def _checked(url: str, runtime: RuntimeDep) -> None:
    try:
        await check_url(
            url, allow_private=settings_of(runtime, RouterSettings).webhook_allow_private
        )
    except UnsafeUrl as exc:
        raise InvalidField("url", str(exc)) from exc


def _found(endpoint_id: str, endpoint: WebhookEndpoint | None) -> WebhookEndpoint:
    if endpoint is None:
        raise NotFound(f"webhook endpoint {endpoint_id}")
    return endpoint


@router.post("", status_code=201, response_model=EndpointCreated)
async def create_webhook_endpoint(
    body: EndpointIn, partner_id: PartnerId, runtime: RuntimeDep
) -> EndpointCreated:
    """Register a URL for the caller's webhooks (``event_types``, or all types). Each type goes
    to the newest enabled endpoint that receives it; the answer carries the signing secret."""
    await _checked(body.url, runtime)
    async with runtime.db.transaction() as session:
        endpoint = await endpoints.create(
            session, partner_id, body.url, body.description, body.event_types
        )
    return EndpointCreated(**EndpointOut.of(endpoint).model_dump(), secret=endpoint.secret)


@router.get("", response_model=EndpointList)
async def list_webhook_endpoints(principal: Caller, runtime: RuntimeDep) -> EndpointList:
    """The caller's endpoints (the operator: everyone's), newest first, without secrets."""
    async with runtime.db.sessionmaker() as session:
        found = await endpoints.list_for(session, principal.partner_id)
    return EndpointList(items=[EndpointOut.of(e) for e in found])


@router.get("/health", response_model=EndpointHealthList)
async def endpoint_health(
    principal: Caller,
    runtime: RuntimeDep,
    since: Annotated[AwareDatetime | None, Query()] = None,
    unhealthy: bool = False,
) -> EndpointHealthList:
    """The caller's endpoints (the operator: everyone's) with their attempts since ``since``
    (default a day ago, at most 14 days back) and their pending and failed deliveries, most
    failed attempts first. ``unhealthy=true``: only those disabled, failing or with a failed
    attempt in the window."""
    now = datetime.now(UTC)
    since = since or now - timedelta(days=1)
    if since > now:
        raise InvalidField("since", "must not be in the future")
    if since < now - RECOVER_WINDOW:
        raise InvalidField("since", f"must be at most {RECOVER_WINDOW.days} days ago")
    async with runtime.db.sessionmaker() as session:
        found = await endpoints.health(
            session, principal.partner_id, since, unhealthy_only=unhealthy
        )
    return EndpointHealthList(since=since, items=[EndpointHealthOut.of(h) for h in found])


@router.get("/{endpoint_id}/secret", response_model=SecretOut)
async def get_webhook_endpoint_secret(
    endpoint_id: str, principal: Caller, runtime: RuntimeDep
) -> SecretOut:
    """The endpoint's current signing secret."""
    async with runtime.db.sessionmaker() as session:
        endpoint = await endpoints.find(session, principal.partner_id, endpoint_id)
    return SecretOut(secret=_found(endpoint_id, endpoint).secret)


@router.patch("/{endpoint_id}", response_model=EndpointOut)
async def update_webhook_endpoint(
    endpoint_id: str, body: EndpointPatch, principal: Caller, runtime: RuntimeDep
) -> EndpointOut:
    """Change the URL, description, event types or status (``enabled``/``disabled``)."""
    changes = body.model_dump(include=body.model_fields_set)
    for field in ("url", "status"):
        if field in changes and changes[field] is None:
            raise InvalidField(field, "must not be null")
    if "url" in changes:
        await _checked(changes["url"], runtime)
    async with runtime.db.transaction() as session:
        endpoint = await endpoints.update(session, principal.partner_id, endpoint_id, changes)
        return EndpointOut.of(_found(endpoint_id, endpoint))


@router.delete("/{endpoint_id}", status_code=204, response_class=Response)
async def delete_webhook_endpoint(
    endpoint_id: str, principal: Caller, runtime: RuntimeDep
) -> Response:
    """Stop sending webhooks to this endpoint."""
    async with runtime.db.transaction() as session:
        deleted = await endpoints.delete(session, principal.partner_id, endpoint_id)
    if not deleted:
        raise NotFound(f"webhook endpoint {endpoint_id}")
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret", response_model=SecretOut)
async def rotate_webhook_endpoint_secret(
    endpoint_id: str, principal: Caller, runtime: RuntimeDep, body: RotateIn | None = None
) -> SecretOut:
    """A new signing secret. For ``previous_valid_for_seconds`` (default a day) webhooks carry
    a signature with the old secret too, so receivers can switch over without losing one."""
    overlap = timedelta(seconds=(body or RotateIn()).previous_valid_for_seconds)
    async with runtime.db.transaction() as session:
        endpoint = await endpoints.rotate_secret(
            session, principal.partner_id, endpoint_id, overlap
        )
        return SecretOut(secret=_found(endpoint_id, endpoint).secret)


@router.post("/{endpoint_id}/test", status_code=202, response_model=TestSent)
async def test_webhook_endpoint(
    endpoint_id: str, principal: Caller, runtime: RuntimeDep
) -> TestSent:
    """Send a signed ``webhook.test`` to the endpoint; follow it in ``/v1/deliveries``."""
    async with runtime.db.transaction() as session:
        delivery = await endpoints.send_test(session, principal.partner_id, endpoint_id)
        if delivery is None:
            raise NotFound(f"webhook endpoint {endpoint_id}")
        return TestSent(delivery_id=delivery.id)


@router.post("/{endpoint_id}/recover", status_code=202, response_model=Recovered)
async def recover_deliveries(
    endpoint_id: str, body: RecoverIn, principal: Caller, runtime: RuntimeDep
) -> Recovered:
    """Attempt again, under their original webhook ids, the deliveries to this endpoint that
    failed since ``since`` (at most 14 days back)."""
    async with runtime.db.transaction() as session:
        count = await endpoints.recover(session, principal.partner_id, endpoint_id, body.since)
    if count is None:
        raise NotFound(f"webhook endpoint {endpoint_id}")
    return Recovered(count=count)
