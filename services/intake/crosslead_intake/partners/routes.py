"""``/v1/partners``: the operator registers partners; a partner reads and tunes itself."""

from __future__ import annotations

from fastapi import APIRouter

from crosslead_common.api.deps import AdminOnly, Caller, ReadSession, RuntimeDep
from crosslead_common.api.paging import Cursor, Limit, Page, decode_time_cursor, page_of
from crosslead_intake.models import Partner
from crosslead_intake.partners import queries, service
from crosslead_intake.partners.schemas import PartnerCreated, PartnerIn, PartnerOut, PartnerPatch

router = APIRouter(prefix="/v1/partners", tags=["partners"])


@router.post("", status_code=201, response_model=PartnerCreated)
async def create_partner(body: PartnerIn, _: AdminOnly, runtime: RuntimeDep) -> PartnerCreated:
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
    optional one. The router hears of every change."""
    async with runtime.db.transaction() as session:
        # Locked: concurrent patches apply one after the other, and each publishes what the
        # other left, so the router never keeps a stale setting.
        partner = await service.own_partner(session, partner_id, principal, for_update=True)
        await service.update_partner(session, partner, body)
    return _out(partner)


def _out(partner: Partner) -> PartnerOut:
    return PartnerOut.model_validate(partner, from_attributes=True)
