"""Use cases of leads. Every change and its events share the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common import events
from crosslead_common.customers import CustomerVault
from crosslead_common.db import utcnow
from crosslead_common.domain import Conflict, InvalidField, NotFound
from crosslead_common.ids import new_id
from crosslead_intake.agreements.queries import may_refer
from crosslead_intake.leads import queries, visibility
from crosslead_intake.leads.duplicates import CustomerMatcher
from crosslead_intake.leads.schemas import LeadIn
from crosslead_intake.lifecycle import ACCEPTABLE, CONVERTIBLE, REROUTABLE, STATUSES, next_status
from crosslead_intake.models import CustomerKey, Lead, Partner, outbox

__all__ = [
    "WINDOWS",
    "LeadRow",
    "LeadView",
    "answer_offer",
    "apply_fact",
    "contact_of",
    "current_target_lead",
    "lead_stats",
    "list_leads",
    "own_original",
    "read_lead",
    "submit_lead",
    "visible_lead",
]

_ORIG = "duplicate_of"
#: The windows ``GET /v1/leads/stats`` counts over.
WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
#: Leads read at a time while filtering received leads on the status their target sees.
_BATCH = 100


@dataclass(frozen=True)
class LeadView:
    """A lead as one caller may see it."""

    lead: Lead
    status: str
    target_partner_id: str | None
    duplicate_of: str | None
    timeline: list[visibility.Entry]
    #: The customer's contact, for the source, the operator and the partner that accepted
    #: the lead; None for anyone else.
    customer: dict[str, Any] | None = None


async def contact_of(
    session: AsyncSession, lead: Lead, vault: CustomerVault
) -> dict[str, Any] | None:
    """The customer's contact as submitted (``name``, ``phone``, ``email``), opened with its
    data key; None once the customer is erased."""
    sealed = lead.customer.get("sealed")
    if not isinstance(sealed, str):
        return None
    key = await session.get(CustomerKey, lead.id)
    customer = vault.open(lead.id, sealed, key.data_key if key else None)
    return None if customer is None else customer.model_dump(mode="json")


async def submit_lead(
    session: AsyncSession,
    source: Partner,
    data: LeadIn,
    matcher: CustomerMatcher,
    vault: CustomerVault,
) -> Lead:
    """Store a warmed-up lead from ``source``; it is routed once ``lead.received`` is
    published, unless it is a duplicate of an earlier lead of the same customer and need. The
    customer's contact is stored and published sealed under a data key of its own."""
    if data.consent.given_at > utcnow() + timedelta(minutes=5):
        raise InvalidField("consent.given_at", "consent cannot be given in the future")
    if data.consent.categories is not None and data.need not in data.consent.categories:
        raise InvalidField(
            "consent.categories", f"the customer did not agree to be passed on for {data.need}"
        )
    now = utcnow()
    lead_id = new_id("lead")
    sealed = vault.seal(lead_id, events.Customer.model_validate(data.customer.model_dump()))
    lead = Lead(
        id=lead_id,
        source_partner_id=source.id,
        need=data.need,
        region=data.region,
        customer={"sealed": sealed.sealed},
        consent=data.consent.model_dump(mode="json"),
        warmth=data.warmth.model_dump(mode="json"),
        manager=data.manager.model_dump(mode="json"),
        external_id=data.external_id,
        status="received",
        hop=0,
        created_at=now,
    )
    session.add(lead)
    fingerprints = matcher.fingerprints(data.customer.phone, data.customer.email, source.country)
    original = await matcher.claim(session, lead.id, lead.need, fingerprints, now)
    # After the claim's queries have flushed the lead, which the key refers to.
    session.add(CustomerKey(lead_id=lead.id, data_key=sealed.data_key, created_at=now))
    if original is not None:
        lead.status, lead.duplicate_of = "duplicate", original
        queries.add_timeline_entry(session, lead.id, "duplicate", now, {"duplicate_of": original})
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
    queries.add_timeline_entry(session, lead.id, "received", now, {})
    await outbox.add(
        session,
        events.LeadReceived.model_validate(
            {
                **data.model_dump(mode="json"),
                "customer": sealed,
                "lead_id": lead.id,
                "source_partner_id": source.id,
                "source_partner_name": source.name,
            }
        ),
    )
    return lead


async def visible_lead(session: AsyncSession, lead_id: str, partner_id: str | None) -> Lead:
    """The lead if the caller may see it (admin, its source, or a partner it was offered to);
    ``NotFound`` otherwise."""
    lead = await queries.get_lead(session, lead_id)
    if lead is not None and (
        partner_id is None
        or partner_id in (lead.source_partner_id, lead.target_partner_id)
        or await queries.was_offered(session, lead.id, partner_id)
    ):
        return lead
    raise NotFound("lead")


async def own_original(session: AsyncSession, lead: Lead, partner_id: str | None) -> str | None:
    """The lead ``lead`` duplicates, if the caller may know it: the operator always, a partner
    only when the original is its own lead (another partner's lead id is not its business)."""
    if lead.duplicate_of is None or partner_id is None:
        return lead.duplicate_of
    original = await queries.get_lead(session, lead.duplicate_of)
    return lead.duplicate_of if original and original.source_partner_id == partner_id else None


async def read_lead(
    session: AsyncSession, lead_id: str, partner_id: str | None, vault: CustomerVault
) -> LeadView:
    """The lead as the caller sees it: the operator and the source see its whole timeline and
    the customer; a partner it was offered to sees the entries of its own offer and deals, the
    status and target those imply, and the customer only once it accepted the lead."""
    lead = await visible_lead(session, lead_id, partner_id)
    entries = [
        visibility.Entry(e.type, e.at, e.details) for e in await queries.timeline(session, lead.id)
    ]
    duplicate_of = await own_original(session, lead, partner_id)
    if partner_id is None or partner_id == lead.source_partner_id:
        if duplicate_of is None:
            entries = [
                visibility.Entry(e.type, e.at, {k: v for k, v in e.details.items() if k != _ORIG})
                for e in entries
            ]
        customer = await contact_of(session, lead, vault)
        return LeadView(lead, lead.status, lead.target_partner_id, duplicate_of, entries, customer)
    own = visibility.for_target(entries, partner_id)
    target = partner_id if lead.target_partner_id == partner_id else None
    status = visibility.target_status(own)
    # Accepted, or deals reported since: its own accept is in its own entries.
    customer = await contact_of(session, lead, vault) if status in CONVERTIBLE else None
    return LeadView(lead, status, target, None, own, customer)


@dataclass(frozen=True)
class LeadRow:
    """A lead in a list, with the status and target the caller may see."""

    lead: Lead
    status: str
    target_partner_id: str | None


async def list_leads(
    session: AsyncSession,
    partner_id: str | None,
    *,
    role: str | None,
    status: str | None,
    since: datetime | None,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[LeadRow]:
    """Up to ``limit`` leads, newest first, before ``(created_at, id)``: the operator's all of
    them; a partner's those it sent (``role`` ``sent``, the default) or those offered to it
    (``received``), each with the status and target ``read_lead`` shows it."""
    if status is not None and status not in STATUSES:
        raise InvalidField("status", f"must be one of {', '.join(STATUSES)}")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if partner_id is None:
        if role is not None:
            raise InvalidField("role", "only a partner lists its sent or received leads")
        leads = await queries.list_leads(
            session, status=status, since=since, before=before, limit=limit
        )
        return [LeadRow(lead, lead.status, lead.target_partner_id) for lead in leads]
    if role in (None, "sent"):
        leads = await queries.list_leads(
            session,
            source_partner_id=partner_id,
            status=status,
            since=since,
            before=before,
            limit=limit,
        )
        return [LeadRow(lead, lead.status, lead.target_partner_id) for lead in leads]
    if role != "received":
        raise InvalidField("role", "must be sent or received")
    # The status a target sees follows from its own timeline entries, so the filter runs here.
    found: list[LeadRow] = []
    while len(found) < limit:
        leads = await queries.list_leads(
            session, offered_to=partner_id, since=since, before=before, limit=_BATCH
        )
        entries = await queries.timelines(session, [lead.id for lead in leads])
        for lead in leads:
            own = visibility.for_target(
                (visibility.Entry(e.type, e.at, e.details) for e in entries[lead.id]), partner_id
            )
            seen = visibility.target_status(own)
            if status is None or seen == status:
                target = partner_id if lead.target_partner_id == partner_id else None
                found.append(LeadRow(lead, seen, target))
        if len(leads) < _BATCH:
            break
        before = (leads[-1].created_at, leads[-1].id)
    return found[:limit]


async def lead_stats(
    session: AsyncSession, partner_id: str | None, window: str, now: datetime
) -> tuple[datetime, dict[str, int]]:
    """Since when, and how many leads received since then have each status: all of them for
    the operator, a partner's sent ones for a partner."""
    since = now - WINDOWS[window]
    return since, await queries.status_counts(session, since, partner_id)


async def current_target_lead(session: AsyncSession, lead_id: str, partner_id: str) -> Lead:
    """The lead, locked, if ``partner_id`` is its current target: the partner it is offered to
    now, or the one that took it. A partner it was offered to before gets a conflict, and so
    does one it may be offered to while it is still being routed; others ``NotFound``."""
    lead = await queries.get_lead(session, lead_id, for_update=True)
    if lead is None:
        raise NotFound("lead")
    if lead.target_partner_id == partner_id:
        return lead
    if await queries.was_offered(session, lead.id, partner_id):
        raise Conflict("the lead is no longer offered to you")
    if lead.status in REROUTABLE | ACCEPTABLE and await may_refer(
        session, lead.source_partner_id, partner_id, lead.need
    ):
        # The router may have moved the lead on to this partner, whose webhook can arrive a
        # moment before intake hears of the routing.
        raise Conflict("the lead is being routed; retry in a moment", kind="lead-being-routed")
    raise NotFound("lead")


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
    lead = await current_target_lead(session, lead_id, partner_id)
    fact = "accepted" if accept else "rejected"
    if lead.status == fact:
        return lead
    if lead.status not in ACCEPTABLE:
        raise Conflict(f"the lead is {lead.status}; it can no longer be {fact}")
    if lead.accept_by is not None and utcnow() > lead.accept_by:
        raise Conflict(f"the offer closed at {lead.accept_by.isoformat()}")
    event: events.LeadAccepted | events.LeadRejected = (
        events.LeadAccepted(lead_id=lead.id, partner_id=partner_id)
        if accept
        else events.LeadRejected(lead_id=lead.id, partner_id=partner_id, reason=reason)
    )
    envelope = await outbox.add(session, event)
    details = {"partner_id": partner_id, **({"reason": reason} if reason else {})}
    apply_fact(session, lead, fact, envelope.time, details)
    return lead


def apply_fact(
    session: AsyncSession, lead: Lead, fact: str, at: datetime, details: dict[str, Any]
) -> None:
    """Record a lifecycle fact in the lead's timeline and move its status if it applies."""
    lead.status = next_status(lead.status, fact)
    queries.add_timeline_entry(session, lead.id, fact, at, details)
