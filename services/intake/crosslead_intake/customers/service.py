"""Erasing a customer: its leads' data keys are deleted (so the sealed contact can no longer be
opened anywhere) and ``customer.erased`` tells the other services to delete their copies.
Amounts, deals and the ledger are not personal data and stay."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import utcnow
from crosslead_common.domain import InvalidField, NotFound
from crosslead_common.events import CustomerErased
from crosslead_intake.customers import queries
from crosslead_intake.customers.schemas import EraseIn
from crosslead_intake.leads.duplicates import CustomerMatcher
from crosslead_intake.leads.queries import get_lead
from crosslead_intake.models import outbox
from crosslead_intake.partners.queries import get_partner

__all__ = ["erase"]


async def erase(
    session: AsyncSession, partner_id: str | None, body: EraseIn, matcher: CustomerMatcher
) -> int:
    """Erase the customer of every lead that matches any field of ``body`` (the operator: any
    lead; a partner: its own leads only) and return how many were erased now. A phone or
    e-mail is matched as duplicates are: a partner's local phone number is placed in its
    ``country``, the operator's in every partner's country. Another partner's ``lead_id`` is
    ``NotFound``; an unknown phone or e-mail erases nothing (count 0)."""
    if body.phone is None and body.email is None and body.lead_id is None:
        raise InvalidField("phone", "give at least one of phone, email and lead_id")
    lead_ids: set[str] = set()
    if body.lead_id is not None:
        lead = await get_lead(session, body.lead_id)
        if lead is None or partner_id not in (None, lead.source_partner_id):
            raise NotFound("lead")
        lead_ids.add(lead.id)
    if body.phone is not None or body.email is not None:
        if partner_id is None:
            places: list[str | None] = [None, *await queries.countries(session)]
        else:
            partner = await get_partner(session, partner_id)
            places = [partner.country if partner else None]
        fingerprints = {
            fingerprint
            for country in places
            for fingerprint in matcher.fingerprints(body.phone, body.email, country)
        }
        lead_ids |= await queries.leads_of_fingerprints(session, sorted(fingerprints))
    now = utcnow()
    erased = []
    for lead in await queries.lock_leads(session, lead_ids):
        if partner_id not in (None, lead.source_partner_id) or lead.customer_erased_at:
            continue
        lead.customer, lead.customer_erased_at = {}, now
        erased.append(lead.id)
        await outbox.add(
            session, CustomerErased(lead_id=lead.id, source_partner_id=lead.source_partner_id)
        )
    if erased:
        await queries.delete_keys(session, erased)
    return len(erased)
