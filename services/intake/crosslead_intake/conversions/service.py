"""Reporting a deal: who may (the lead's current target), the currency and refund rules
(``policy``), the stored conversion and the ``conversion.reported`` event."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common import events, terms
from crosslead_common.db import utcnow
from crosslead_common.domain import Conflict
from crosslead_common.ids import new_id
from crosslead_common.money import from_minor
from crosslead_intake.agreements.queries import get_agreement
from crosslead_intake.conversions import policy, queries
from crosslead_intake.conversions.schemas import ConversionIn
from crosslead_intake.leads.service import apply_fact, current_target_lead
from crosslead_intake.lifecycle import CONVERTIBLE
from crosslead_intake.models import Agreement, Conversion, Lead, outbox

__all__ = ["report_conversion"]


async def report_conversion(
    session: AsyncSession, partner_id: str, data: ConversionIn
) -> Conversion:
    """Record a won deal or a refund on a lead routed to ``partner_id``; the same
    ``(lead_id, external_id, status)`` reported again returns the first conversion."""
    amount_minor = policy.deal_minor_units(data.amount, data.currency)
    lead, agreement, existing = await _authorized(session, partner_id, data)
    if existing is not None:
        return existing
    commission = terms.parse_terms(agreement.commission)
    policy.require_currency(commission, data.currency)
    totals = await queries.conversion_totals(session, lead.id)
    won = totals.get(("won", data.currency), 0)
    refunded = totals.get(("refunded", data.currency), 0)
    fact = "converted"
    if data.status == "refunded":
        policy.require_refundable(won, refunded, amount_minor, data.currency)
        fact = policy.refund_fact(won, refunded, amount_minor)
    conversion = Conversion(
        id=new_id("conv"),
        lead_id=lead.id,
        external_id=data.external_id,
        status=data.status,
        amount_minor=amount_minor,
        currency=data.currency,
        reported_by=partner_id,
        created_at=utcnow(),
    )
    session.add(conversion)
    envelope = await outbox.add(session, _event(conversion, lead, agreement, commission))
    details = {
        "conversion_id": conversion.id,
        "partner_id": partner_id,
        "external_id": conversion.external_id,
        "amount": str(data.amount),
        "currency": data.currency,
    }
    apply_fact(session, lead, fact, envelope.time, details)
    return conversion


async def _authorized(
    session: AsyncSession, partner_id: str, data: ConversionIn
) -> tuple[Lead, Agreement, Conversion | None]:
    """The lead (``partner_id`` must be its current target), its agreement, and the same
    conversion if it was reported before."""
    lead = await current_target_lead(session, data.lead_id, partner_id)
    existing = await queries.find_conversion(session, lead.id, data.external_id, data.status)
    if existing is None and lead.status not in CONVERTIBLE:
        raise Conflict(f"the lead is {lead.status}; accept it before reporting deals on it")
    agreement = await get_agreement(session, lead.agreement_id or "")
    if agreement is None:
        raise Conflict("the lead has no agreement yet")
    return lead, agreement, existing


def _event(
    conversion: Conversion, lead: Lead, agreement: Agreement, commission: terms.CommissionTerms
) -> events.ConversionReported:
    return events.ConversionReported(
        conversion_id=conversion.id,
        lead_id=lead.id,
        external_id=conversion.external_id,
        status="won" if conversion.status == "won" else "refunded",
        amount=from_minor(conversion.amount_minor, conversion.currency),
        currency=conversion.currency,
        source_partner_id=lead.source_partner_id,
        target_partner_id=conversion.reported_by,  # only the lead's target may report
        manager_id=lead.manager["id"],
        agreement_id=agreement.id,
        commission=commission,
        manager_share=agreement.manager_share,
        holding_days=agreement.holding_days,
    )
