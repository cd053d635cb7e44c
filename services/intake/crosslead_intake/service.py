"""Use cases of the intake service. Every change and its events share one transaction; the
caller (a route or a consumer) owns the commit."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common import events
from crosslead_common.auth import hash_api_key, new_api_key
from crosslead_common.db import utcnow
from crosslead_common.errors import Problem
from crosslead_common.money import CURRENCY_EXPONENTS, MoneyError, from_minor, to_minor
from crosslead_intake import repository
from crosslead_intake.api.schemas import (
    AgreementIn,
    ConversionIn,
    FlatIn,
    LeadIn,
    PartnerIn,
    PartnerPatch,
    PercentIn,
    TieredIn,
)
from crosslead_intake.customers import CustomerMatcher
from crosslead_intake.lifecycle import ACCEPTABLE, CONVERTIBLE, REROUTABLE, next_status
from crosslead_intake.models import Agreement, Conversion, Lead, Partner, outbox


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


async def register_partner(
    session: AsyncSession, data: PartnerIn, signing_key: bytes | None = None
) -> tuple[Partner, str]:
    """Create a partner and its API key (signed with ``signing_key``, so every service accepts
    it at once); the key is returned once and only its hash kept."""
    partner_id = new_id("ptr")
    api_key = new_api_key(partner_id, signing_key)
    partner = Partner(
        id=partner_id,
        name=data.name,
        api_key_hash=hash_api_key(api_key),
        created_at=utcnow(),
        **_routing_settings(data.model_dump(mode="json", exclude={"name"})),
    )
    _check_capacities(partner)
    session.add(partner)
    await outbox.add(
        session,
        events.PartnerRegistered.model_validate(
            {**_snapshot(partner), "name": partner.name, "api_key_hash": partner.api_key_hash}
        ),
    )
    return partner, api_key


async def update_partner(session: AsyncSession, partner: Partner, patch: PartnerPatch) -> Partner:
    """Change some of a partner's routing settings and publish all of them as they now stand."""
    for field, value in _routing_settings(
        patch.model_dump(mode="json", exclude_unset=True)
    ).items():
        setattr(partner, field, value)
    _check_capacities(partner)
    await outbox.add(session, events.PartnerUpdated.model_validate(_snapshot(partner)))
    return partner


def _routing_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Routing settings as stored: offers and regions sorted and without repeats."""
    return {
        field: sorted(set(value)) if field in ("offers", "regions") else value
        for field, value in settings.items()
    }


def _check_capacities(partner: Partner) -> None:
    per_day, per_hour = partner.capacity_per_day, partner.capacity_per_hour
    if per_day is not None and per_hour is not None and per_hour > per_day:
        raise Problem.invalid("capacity_per_hour", "cannot exceed capacity_per_day")


def _snapshot(partner: Partner) -> dict[str, Any]:
    return {
        "partner_id": partner.id,
        "offers": partner.offers,
        "regions": partner.regions,
        "capacity_per_day": partner.capacity_per_day,
        "capacity_per_hour": partner.capacity_per_hour,
        "availability": partner.availability,
        "paused": partner.paused,
    }


async def create_agreement(session: AsyncSession, data: AgreementIn) -> Agreement:
    """Let leads of ``data.categories`` flow from the source to the target on these terms."""
    for field in ("source_partner_id", "target_partner_id"):
        if await repository.get_partner(session, getattr(data, field)) is None:
            raise Problem.invalid(field, "no partner with this id")
    if data.source_partner_id == data.target_partner_id:
        raise Problem.invalid("target_partner_id", "a partner cannot refer leads to itself")
    _check_terms(data.commission)
    agreement = Agreement(
        id=new_id("agr"),
        source_partner_id=data.source_partner_id,
        target_partner_id=data.target_partner_id,
        categories=sorted(set(data.categories)),
        commission=data.commission.model_dump(mode="json", exclude_none=True),
        manager_share=data.manager_share,
        accept_within_seconds=data.accept_within_seconds,
        priority=data.priority,
        holding_days=data.holding_days,
        created_at=utcnow(),
    )
    session.add(agreement)
    await outbox.add(
        session,
        events.AgreementCreated.model_validate(
            {
                "agreement_id": agreement.id,
                "source_partner_id": agreement.source_partner_id,
                "target_partner_id": agreement.target_partner_id,
                "categories": agreement.categories,
                "commission": agreement.commission,
                "manager_share": agreement.manager_share,
                "accept_within_seconds": agreement.accept_within_seconds,
                "priority": agreement.priority,
                "holding_days": agreement.holding_days,
            }
        ),
    )
    return agreement


async def end_agreement(session: AsyncSession, agreement_id: str) -> Agreement:
    """Stop new leads flowing under the agreement (ending it again changes nothing); deals on
    leads already routed under it still earn their commission."""
    agreement = await repository.get_agreement(session, agreement_id, for_update=True)
    if agreement is None:
        raise Problem.not_found("agreement")
    if agreement.ended_at is None:
        agreement.ended_at = utcnow()
        await outbox.add(
            session,
            events.AgreementEnded(
                agreement_id=agreement.id,
                source_partner_id=agreement.source_partner_id,
                target_partner_id=agreement.target_partner_id,
            ),
        )
    return agreement


def _check_terms(terms: PercentIn | FlatIn | TieredIn) -> None:
    """Amounts the currency can represent; tiers from 0 upwards; one currency per agreement."""
    if isinstance(terms, FlatIn):
        _minor_units(terms.amount, terms.currency, "commission.amount", "commission.currency")
        return
    if isinstance(terms, TieredIn):
        previous: Decimal | None = None
        for i, tier in enumerate(terms.tiers):
            field = f"commission.tiers.{i}.from_amount"
            _minor_units(tier.from_amount, terms.currency, field, "commission.currency")
            if previous is None and tier.from_amount != 0:
                raise Problem.invalid(field, "the first tier starts at 0")
            if previous is not None and tier.from_amount <= previous:
                raise Problem.invalid(field, "tiers must be in strictly ascending order")
            previous = tier.from_amount
    cap = terms.cap_per_lead
    if cap is not None:
        field = "commission.cap_per_lead"
        _minor_units(cap.amount, cap.currency, f"{field}.amount", f"{field}.currency")
        if isinstance(terms, TieredIn) and cap.currency != terms.currency:
            raise Problem.invalid(f"{field}.currency", f"must be the tiers' {terms.currency}")


def _commission_currency(commission: dict[str, Any]) -> str | None:
    """The one currency deals under these terms must be in, if the terms name one."""
    if "currency" in commission:
        return str(commission["currency"])
    cap = commission.get("cap_per_lead")
    return None if cap is None else str(cap["currency"])


async def submit_lead(
    session: AsyncSession, source: Partner, data: LeadIn, matcher: CustomerMatcher
) -> Lead:
    """Store a warmed-up lead from ``source``; it is routed once ``lead.received`` is
    published, unless it is a duplicate of an earlier lead of the same customer and need."""
    if data.consent.given_at > utcnow() + timedelta(minutes=5):
        raise Problem.invalid("consent.given_at", "consent cannot be given in the future")
    if data.consent.categories is not None and data.need not in data.consent.categories:
        raise Problem.invalid(
            "consent.categories", f"the customer did not agree to be passed on for {data.need}"
        )
    now = utcnow()
    lead = Lead(
        id=new_id("lead"),
        source_partner_id=source.id,
        need=data.need,
        region=data.region,
        customer=data.customer.model_dump(mode="json"),
        consent=data.consent.model_dump(mode="json"),
        warmth=data.warmth.model_dump(mode="json"),
        manager=data.manager.model_dump(mode="json"),
        external_id=data.external_id,
        status="received",
        hop=0,
        created_at=now,
    )
    session.add(lead)
    fingerprints = matcher.fingerprints(data.customer.phone, data.customer.email)
    original = await matcher.claim(session, lead.id, lead.need, fingerprints, now)
    if original is not None:
        lead.status, lead.duplicate_of = "duplicate", original
        repository.add_timeline_entry(
            session, lead.id, "duplicate", now, {"duplicate_of": original}
        )
        await outbox.add(
            session,
            events.LeadDuplicate(
                lead_id=lead.id,
                source_partner_id=source.id,
                need=lead.need,
                original_lead_id=original,
            ),
        )
        return lead
    repository.add_timeline_entry(session, lead.id, "received", now, {})
    await outbox.add(
        session,
        events.LeadReceived.model_validate(
            {
                **data.model_dump(mode="json"),
                "lead_id": lead.id,
                "source_partner_id": source.id,
                "source_partner_name": source.name,
            }
        ),
    )
    return lead


async def visible_lead(session: AsyncSession, lead_id: str, partner_id: str | None) -> Lead:
    """The lead if the caller may see it (admin, its source, or a partner it was offered to);
    404 otherwise."""
    lead = await repository.get_lead(session, lead_id)
    if lead is not None and (
        partner_id is None
        or partner_id in (lead.source_partner_id, lead.target_partner_id)
        or await repository.was_offered(session, lead.id, partner_id)
    ):
        return lead
    raise Problem.not_found("lead")


async def _offered_lead(session: AsyncSession, lead_id: str, partner_id: str) -> Lead:
    """The lead if ``partner_id`` is its current target: the partner it is offered to now, or
    the one that took it. A partner it was offered to before gets a conflict, and so does one
    it may be offered to while it is still being routed; others a 404."""
    lead = await repository.get_lead(session, lead_id, for_update=True)
    if lead is None:
        raise Problem.not_found("lead")
    if lead.target_partner_id == partner_id:
        return lead
    if await repository.was_offered(session, lead.id, partner_id):
        raise Problem(409, "Conflict", "the lead is no longer offered to you")
    if lead.status in REROUTABLE | ACCEPTABLE and await repository.may_be_offered(
        session, lead, partner_id
    ):
        # The router may have moved the lead on to this partner, whose webhook can arrive a
        # moment before intake hears of the routing.
        raise Problem(409, "Conflict", "the lead is being routed; retry in a moment")
    raise Problem.not_found("lead")


async def answer_offer(
    session: AsyncSession,
    partner_id: str,
    lead_id: str,
    *,
    accept: bool,
    reason: str | None = None,
) -> Lead:
    """The target partner accepts or rejects the lead; answering the same way twice is a
    no-op, answering after the offer closed is a conflict."""
    lead = await _offered_lead(session, lead_id, partner_id)
    fact = "accepted" if accept else "rejected"
    if lead.status == fact:
        return lead
    if lead.status not in ACCEPTABLE:
        raise Problem(409, "Conflict", f"the lead is {lead.status}; it can no longer be {fact}")
    if lead.accept_by is not None and utcnow() > lead.accept_by:
        raise Problem(409, "Conflict", f"the offer closed at {lead.accept_by.isoformat()}")
    event: events.LeadAccepted | events.LeadRejected = (
        events.LeadAccepted(lead_id=lead.id, partner_id=partner_id)
        if accept
        else events.LeadRejected(lead_id=lead.id, partner_id=partner_id, reason=reason)
    )
    envelope = await outbox.add(session, event)
    apply_fact(session, lead, fact, envelope.time, {"reason": reason} if reason else {})
    return lead


async def report_conversion(
    session: AsyncSession, partner_id: str, data: ConversionIn
) -> Conversion:
    """Record a won deal or a refund on a lead routed to ``partner_id``; the same
    ``(lead_id, external_id, status)`` reported again returns the first conversion."""
    amount_minor = _minor_units(data.amount, data.currency)
    lead = await _offered_lead(session, data.lead_id, partner_id)
    existing = await repository.find_conversion(session, lead.id, data.external_id, data.status)
    if existing is not None:
        return existing
    if lead.status not in CONVERTIBLE:
        raise Problem(
            409, "Conflict", f"the lead is {lead.status}; accept it before reporting deals on it"
        )
    agreement = await repository.get_agreement(session, lead.agreement_id or "")
    if agreement is None:
        raise Problem(409, "Conflict", "the lead has no agreement yet")
    currency = _commission_currency(agreement.commission)
    if currency is not None and data.currency != currency:
        raise Problem.invalid(
            "currency", f"the agreement's commission is in {currency}; report deals in {currency}"
        )
    totals = await repository.conversion_totals(session, lead.id)
    won = totals.get(("won", data.currency), 0)
    refunded = totals.get(("refunded", data.currency), 0)
    if data.status == "refunded":
        if won == 0:
            raise Problem.invalid(
                "status", f"no won deal in {data.currency} on this lead to refund"
            )
        if refunded + amount_minor > won:
            left = from_minor(won - refunded, data.currency)
            raise Problem.invalid("amount", f"refunds would exceed the won amount; at most {left}")
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
    envelope = await outbox.add(session, _conversion_event(conversion, lead, agreement))
    fact = "converted" if data.status == "won" else "refunded"
    if fact == "refunded" and refunded + amount_minor < won:
        fact = "partially_refunded"  # timeline only: the deal still stands
    apply_fact(
        session,
        lead,
        fact,
        envelope.time,
        {
            "conversion_id": conversion.id,
            "external_id": conversion.external_id,
            "amount": str(data.amount),
            "currency": data.currency,
        },
    )
    return conversion


def _conversion_event(
    conversion: Conversion, lead: Lead, agreement: Agreement
) -> events.ConversionReported:
    return events.ConversionReported.model_validate(
        {
            "conversion_id": conversion.id,
            "lead_id": lead.id,
            "external_id": conversion.external_id,
            "status": conversion.status,
            "amount": from_minor(conversion.amount_minor, conversion.currency),
            "currency": conversion.currency,
            "source_partner_id": lead.source_partner_id,
            "target_partner_id": conversion.reported_by,  # only the lead's target may report
            "manager_id": lead.manager["id"],
            "agreement_id": agreement.id,
            "commission": agreement.commission,
            "manager_share": agreement.manager_share,
            "holding_days": agreement.holding_days,
        }
    )


def apply_fact(
    session: AsyncSession, lead: Lead, fact: str, at: datetime, details: dict[str, Any]
) -> None:
    """Record a lifecycle fact in the lead's timeline and move its status if it applies."""
    lead.status = next_status(lead.status, fact)
    repository.add_timeline_entry(session, lead.id, fact, at, details)


def _minor_units(
    amount: Decimal, currency: str, field: str = "amount", currency_field: str = "currency"
) -> int:
    if currency not in CURRENCY_EXPONENTS:
        raise Problem.invalid(currency_field, f"{currency} is not an ISO 4217 currency")
    try:
        return to_minor(amount, currency)
    except MoneyError as exc:
        raise Problem.invalid(field, str(exc)) from None
