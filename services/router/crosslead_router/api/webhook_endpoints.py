"""``/v1/webhook-endpoints``: where a partner receives its offers."""

from __future__ import annotations

from fastapi import APIRouter, Response

from crosslead_common.api.deps import PartnerId, ReadSession, RuntimeDep, settings_of
from crosslead_common.domain import InvalidField
from crosslead_router import service
from crosslead_router.api.schemas import EndpointIn, EndpointList, EndpointOut
from crosslead_router.settings import RouterSettings
from crosslead_router.urls import UnsafeUrl, check_url

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhook endpoints"])


@router.post("", status_code=201, response_model=EndpointOut)
async def create_endpoint(
    body: EndpointIn, partner_id: PartnerId, runtime: RuntimeDep
) -> EndpointOut:
    """Register a URL for the caller's ``lead.offered`` webhooks. Offers go to the newest
    endpoint; the answer carries the secret that signs them."""
    try:
        await check_url(
            body.url, allow_private=settings_of(runtime, RouterSettings).webhook_allow_private
        )
    except UnsafeUrl as exc:
        raise InvalidField("url", str(exc)) from exc
    async with runtime.db.transaction() as session:
        endpoint = await service.create_endpoint(session, partner_id, body.url, body.description)
    return EndpointOut.model_validate(endpoint)


@router.get("", response_model=EndpointList)
async def list_endpoints(partner_id: PartnerId, session: ReadSession) -> EndpointList:
    """The caller's active endpoints, newest first, with their signing secrets."""
    endpoints = await service.list_endpoints(session, partner_id)
    return EndpointList(items=[EndpointOut.model_validate(e) for e in endpoints])


@router.delete("/{endpoint_id}", status_code=204, response_class=Response)
async def delete_endpoint(endpoint_id: str, partner_id: PartnerId, runtime: RuntimeDep) -> Response:
    """Stop sending offers to this endpoint (another partner's endpoint is a 404)."""
    async with runtime.db.transaction() as session:
        await service.delete_endpoint(session, partner_id, endpoint_id)
    return Response(status_code=204)
