"""``/v1/partners``: the operator registers partners; a partner reads and tunes itself."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response

from crosslead_common.api.deps import AdminOnly, Caller, ReadSession, RuntimeDep
from crosslead_common.api.paging import Cursor, Limit, Page, decode_time_cursor, page_of
from crosslead_intake.models import ApiKey, Partner
from crosslead_intake.partners import queries, service
from crosslead_intake.partners.schemas import (
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    ApiKeyRotation,
    PartnerCreated,
    PartnerIn,
    PartnerOut,
    PartnerPatch,
)

router = APIRouter(prefix="/v1/partners", tags=["partners"])


@router.post("", status_code=201, response_model=PartnerCreated)
async def create_partner(body: PartnerIn, _: AdminOnly, runtime: RuntimeDep) -> PartnerCreated:
    """Register a partner (operator only). The answer carries its API key, shown this once:
    the partner authenticates with it as `Authorization: Bearer <api_key>`."""
    async with runtime.db.transaction() as session:
        partner, api_key = await service.register_partner(
            session, body, runtime.settings.api_key_signing_key()
        )
    return PartnerCreated(**_out(partner).model_dump(), api_key=api_key)


@router.get("", response_model=Page[PartnerOut])
async def list_partners(
    _: AdminOnly, session: ReadSession, limit: Limit = 50, cursor: Cursor = None
) -> Page[PartnerOut]:
    """Every partner, oldest first (operator only)."""
    found = await queries.list_partners(session, after=decode_time_cursor(cursor), limit=limit + 1)
    return page_of(found, limit, lambda p: (p.created_at.isoformat(), p.id), _out)


@router.get("/{partner_id}", response_model=PartnerOut)
async def get_partner(partner_id: str, principal: Caller, session: ReadSession) -> PartnerOut:
    """The operator, or the partner itself."""
    return _out(await service.own_partner(session, partner_id, principal))


@router.patch("/{partner_id}", response_model=PartnerOut)
async def update_partner(
    partner_id: str, body: PartnerPatch, principal: Caller, runtime: RuntimeDep
) -> PartnerOut:
    """Change routing settings (the operator, or the partner itself); ``null`` clears an
    optional one. ``status`` is the operator's only (a partner gets 403). The router hears of
    every change."""
    async with runtime.db.transaction() as session:
        # Locked: concurrent patches apply one after the other, and each publishes what the
        # other left, so the router never keeps a stale setting.
        partner = await service.own_partner(session, partner_id, principal, for_update=True)
        await service.update_partner(session, partner, body, principal)
    return _out(partner)


@router.post("/{partner_id}/api-keys", status_code=201, response_model=ApiKeyCreated)
async def rotate_api_key(
    partner_id: str, principal: Caller, runtime: RuntimeDep, body: ApiKeyRotation | None = None
) -> ApiKeyCreated:
    """A new API key (the operator, or the partner itself), shown once; the partner's other
    keys keep working for ``previous_valid_for_seconds`` (default one day, at most 7 days,
    0: they stop at once)."""
    rotation = body or ApiKeyRotation()
    async with runtime.db.transaction() as session:
        partner = await service.own_partner(session, partner_id, principal, for_update=True)
        key, api_key = await service.issue_key(
            session,
            partner,
            timedelta(seconds=rotation.previous_valid_for_seconds),
            runtime.settings.api_key_signing_key(),
        )
    return ApiKeyCreated(id=key.id, api_key=api_key, created_at=key.created_at)


@router.get("/{partner_id}/api-keys", response_model=ApiKeyList)
async def list_api_keys(partner_id: str, principal: Caller, session: ReadSession) -> ApiKeyList:
    """The partner's keys, oldest first (never the keys themselves)."""
    partner = await service.own_partner(session, partner_id, principal)
    return ApiKeyList(items=[_key_out(key) for key in await service.keys_of(session, partner)])


@router.delete("/{partner_id}/api-keys/{key_id}", status_code=204, response_class=Response)
async def revoke_api_key(
    partner_id: str, key_id: str, principal: Caller, runtime: RuntimeDep
) -> Response:
    """Revoke a key at once, on every service (the operator, or the partner itself)."""
    async with runtime.db.transaction() as session:
        partner = await service.own_partner(session, partner_id, principal, for_update=True)
        await service.revoke_key(session, partner, key_id)
    return Response(status_code=204)


def _out(partner: Partner) -> PartnerOut:
    return PartnerOut.model_validate(partner, from_attributes=True)


def _key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key, from_attributes=True)
