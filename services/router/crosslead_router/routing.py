"""Routing use cases: offer a lead to one partner at a time, move on when the partner rejects
it or lets it expire, park it while nobody can take it now, and record why each time. Each runs
inside the caller's transaction and never commits.

A lead is offered to the best-ranked candidate (see :mod:`crosslead_router.matching`) whose
capacity can be taken atomically; every offer is a new hop with its own deadline. After
``max_hops`` offers, or when no partner is left, the lead is unroutable; when partners exist
but are all paused, closed, full or without an enabled webhook endpoint, it waits and is
looked at again when something opens.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import request_wakeup, utcnow
from crosslead_common.domain import NotFound
from crosslead_common.events import (
    ConversionReported,
    Exclusion,
    LeadExpired,
    LeadReceived,
    LeadRouted,
    LeadUnroutable,
    LeadWaiting,
    RoutingDecision,
)
from crosslead_common.observability.metrics import ROUTING_DECISIONS, count_after_commit
from crosslead_common.observability.tracing import current_traceparent
from crosslead_router import matching, notices, repository
from crosslead_router.matching import Choice, History, LeadToRoute, Situation, Target
from crosslead_router.models import Decision, Delivery, Offer, RoutedLead, outbox
from crosslead_router.offers import (
    OFFER_TYPE,
    contact_of,
    offer_body,
    offer_data,
    offered_data,
    withdrawal_body,
)
from crosslead_router.service import DEADLINES_WAKEUP, DELIVERIES_WAKEUP
from crosslead_router.signing import new_webhook_id
from crosslead_router.webhooks import (
    LeadAcceptedData,
    LeadRejectedData,
    LeadUnroutableData,
    SealedLeadContactData,
)

__all__ = [
    "RoutingPolicy",
    "decisions_of",
    "expire_due",
    "recheck_waiting",
    "record_answer",
    "record_conversion",
    "route_lead",
]

log = logging.getLogger(__name__)

Outcome = Literal["routed", "waiting", "unroutable"]


@dataclass(frozen=True)
class RoutingPolicy:
    #: Offers made before a lead nobody accepted is given up as unroutable.
    max_hops: int = 3
    #: How long a waiting lead sits before it is looked at again without being woken.
    recheck_seconds: float = 30.0


async def route_lead(
    session: AsyncSession, lead: LeadReceived, policy: RoutingPolicy = RoutingPolicy()
) -> Outcome | None:
    """Take in a received lead and make its first offer (or park or give it up). None if the
    lead was seen before (the same lead re-published)."""
    if await repository.routed_lead(session, lead.lead_id) is not None:
        return None
    row = RoutedLead(
        lead_id=lead.lead_id,
        source_partner_id=lead.source_partner_id,
        need=lead.need,
        region=lead.region,
        consent_categories=(
            None if lead.consent.categories is None else list(lead.consent.categories)
        ),
        offer=offer_data(lead),
        state="received",
        hop=0,
    )
    await repository.add(session, row)
    return await _route(session, row, policy, utcnow())


async def _route(
    session: AsyncSession, lead: RoutedLead, policy: RoutingPolicy, now: datetime
) -> Outcome:
    """Offer ``lead`` to the best candidate whose capacity can be taken, or say why nobody
    can have it; the decision is recorded and travels in the event."""
    await repository.reading_the_routing_view(session)
    to_route = LeadToRoute(
        source_partner_id=lead.source_partner_id,
        need=lead.need,
        region=lead.region,
        consent_categories=(
            None if lead.consent_categories is None else frozenset(lead.consent_categories)
        ),
    )
    targets = await repository.targets(session, lead.source_partner_id)
    situation = await _situation(session, lead, targets, now)
    ranking = matching.rank(to_route, targets, situation)
    hop = lead.hop + 1
    if lead.hop >= policy.max_hops:
        reason = f"offered to {lead.hop} partners and none accepted"
        await _give_up(session, lead, reason, ranking.decision(hop, None), now)
        return "unroutable"
    lost: list[Exclusion] = []
    for choice in ranking.choices:
        if await repository.take_capacity(session, choice.target.partner_id, choice.windows):
            await _offer(session, lead, choice, ranking.decision(hop, choice, lost), now)
            return "routed"
        lost.append(
            Exclusion(
                partner_id=choice.target.partner_id,
                reason="capacity",
                detail="its last offer was just taken by another lead",
            )
        )
    decision = ranking.decision(hop, None, lost)
    outcome, reason = matching.blocked(to_route, decision.excluded)
    if outcome == "unroutable":
        await _give_up(session, lead, reason, decision, now)
        return "unroutable"
    lead.recheck_at = now + timedelta(seconds=policy.recheck_seconds)
    if lead.state != "waiting":  # looked at again and still waiting: nothing new to tell
        lead.state = "waiting"
        await _publish(
            session, LeadWaiting(lead_id=lead.lead_id, reason=reason, decision=decision), now
        )
    return "waiting"


async def _situation(
    session: AsyncSession, lead: RoutedLead, targets: list[Target], now: datetime
) -> Situation:
    """What the router knows, besides the agreements, that the decision depends on."""
    partner_ids = {t.partner_id for t in targets}
    source = await repository.partner(session, lead.source_partner_id)
    histories = await repository.histories(session, lead.source_partner_id, partner_ids, now)
    windows = {w for t in targets for w, _ in matching.capacity_windows(t, now)}
    return Situation(
        now=now,
        source_capacity_per_day=source.capacity_per_day if source else None,
        source_volume_30d=histories.get(lead.source_partner_id, History()).volume_30d,
        history=histories,
        used=await repository.usage(session, partner_ids, windows),
        # ``hop`` stays 0 until the first offer: a new lead has no offers to look up.
        already_offered=(
            await repository.offered_partners(session, lead.lead_id) if lead.hop else frozenset()
        ),
        unreachable=await repository.partners_without_endpoint_for(
            session, partner_ids, OFFER_TYPE
        ),
    )


async def _give_up(
    session: AsyncSession,
    lead: RoutedLead,
    reason: str,
    decision: RoutingDecision,
    now: datetime,
) -> None:
    lead.state, lead.recheck_at = "unroutable", None
    await _publish(
        session, LeadUnroutable(lead_id=lead.lead_id, reason=reason, decision=decision), now
    )
    news = LeadUnroutableData(lead_id=lead.lead_id, reason=reason)
    await notices.notify(session, lead.source_partner_id, news, lead_id=lead.lead_id)


async def _publish(
    session: AsyncSession, event: LeadRouted | LeadWaiting | LeadUnroutable, now: datetime
) -> None:
    """Record the decision the event carries and put the event in the outbox."""
    outcome = {LeadRouted: "routed", LeadWaiting: "waiting", LeadUnroutable: "unroutable"}
    assert event.decision is not None
    await repository.add(
        session,
        Decision(
            lead_id=event.lead_id,
            outcome=outcome[type(event)],
            at=now,
            decision=event.decision.model_dump(mode="json"),
        ),
    )
    count_after_commit(session, ROUTING_DECISIONS.labels(outcome=outcome[type(event)]).inc)
    await outbox.add(session, event)


async def _offer(
    session: AsyncSession,
    lead: RoutedLead,
    choice: Choice,
    decision: RoutingDecision,
    now: datetime,
) -> None:
    """Make the next offer: the lead's new target and deadline, the offer on record, and the
    delivery whose body (and webhook id) every attempt will send unchanged; the body carries
    the customer only under an agreement that shares it ``on_offer``."""
    target = choice.target
    accept_by = now + timedelta(seconds=target.accept_within_seconds)
    lead.hop += 1
    lead.state, lead.recheck_at = "routed", None
    lead.target_partner_id, lead.agreement_id = target.partner_id, target.agreement_id
    lead.accept_by, lead.routed_at = accept_by, now
    await repository.add(
        session,
        Offer(
            lead_id=lead.lead_id,
            hop=lead.hop,
            source_partner_id=lead.source_partner_id,
            target_partner_id=target.partner_id,
            agreement_id=target.agreement_id,
            offered_at=now,
            outcome="open",
            converted=False,
        ),
    )
    data = offered_data(lead.offer, target.share_contact)
    body = offer_body(data, accept_by=accept_by, now=now)
    await _deliver(session, lead.lead_id, target.partner_id, kind="offer", body=body, now=now)
    await _publish(
        session,
        LeadRouted(
            lead_id=lead.lead_id,
            source_partner_id=lead.source_partner_id,
            target_partner_id=target.partner_id,
            agreement_id=target.agreement_id,
            accept_by=accept_by,
            hop=lead.hop,
            decision=decision,
        ),
        now,
    )
    request_wakeup(session, DEADLINES_WAKEUP)


async def _deliver(
    session: AsyncSession, lead_id: str, partner_id: str, *, kind: str, body: str, now: datetime
) -> None:
    """Queue a webhook to ``partner_id``; the dispatcher is woken on commit."""
    await repository.add(
        session,
        Delivery(
            id=f"dlv_{uuid.uuid4().hex}",
            lead_id=lead_id,
            partner_id=partner_id,
            kind=kind,
            webhook_id=new_webhook_id(),
            body=body,
            status="pending",
            attempt_count=0,
            next_attempt_at=now,
            created_at=now,
            traceparent=current_traceparent(),
        ),
    )
    request_wakeup(session, DELIVERIES_WAKEUP)


async def record_answer(
    session: AsyncSession,
    lead_id: str,
    partner_id: str,
    answer: Literal["accepted", "rejected"],
    policy: RoutingPolicy = RoutingPolicy(),
    *,
    reason: str | None = None,
) -> None:
    """The current target accepted or rejected the lead: it no longer expires, a delivery
    still being retried is called off, the source is told, a target that accepted receives
    the customer's contact (``lead.contact``), and a rejected lead goes to the next
    candidate."""
    lead = await repository.routed_lead(session, lead_id, for_update=True)
    if lead is None or lead.target_partner_id != partner_id:
        log.warning("ignoring %s of lead %s by %s: not offered there", answer, lead_id, partner_id)
        return
    if lead.state not in repository.OPEN_LEAD_STATES:
        log.warning("ignoring %s of lead %s: it is already %s", answer, lead_id, lead.state)
        return
    await _close(session, lead, answer)
    news: LeadAcceptedData | LeadRejectedData = (
        LeadAcceptedData(lead_id=lead_id, partner_id=partner_id)
        if answer == "accepted"
        else LeadRejectedData(lead_id=lead_id, partner_id=partner_id, reason=reason)
    )
    await notices.notify(session, lead.source_partner_id, news, lead_id=lead_id)
    if answer == "accepted":
        await _send_contact(session, lead)
    if answer == "rejected":
        await _route(session, lead, policy, utcnow())


async def _send_contact(session: AsyncSession, lead: RoutedLead) -> None:
    """The partner that accepted ``lead`` receives the customer's contact."""
    customer = contact_of(lead.offer)
    if customer is None or lead.target_partner_id is None:
        return
    contact = SealedLeadContactData(lead_id=lead.lead_id, customer=customer)
    await notices.notify(session, lead.target_partner_id, contact, lead_id=lead.lead_id)


async def _close(
    session: AsyncSession, lead: RoutedLead, outcome: Literal["accepted", "rejected", "expired"]
) -> None:
    lead.state = outcome
    await repository.close_offer(session, lead.lead_id, lead.hop, outcome)
    await repository.cancel_pending_offers(session, lead.lead_id)


async def expire_due(
    session: AsyncSession, *, now: datetime, limit: int, policy: RoutingPolicy = RoutingPolicy()
) -> int:
    """Expire up to ``limit`` offers whose deadline (``now`` already includes the grace period)
    passed unanswered: LeadExpired, a ``lead.withdrawn`` webhook to the partner, and the lead
    goes to the next candidate. Returns how many."""
    leads = await repository.leads_past_deadline(session, now, limit)
    for lead in leads:
        assert lead.target_partner_id is not None
        assert lead.accept_by is not None
        await _close(session, lead, "expired")
        await outbox.add(
            session,
            LeadExpired(
                lead_id=lead.lead_id,
                target_partner_id=lead.target_partner_id,
                accept_by=lead.accept_by,
            ),
        )
        moment = utcnow()
        body = withdrawal_body(lead.lead_id, reason="expired", now=moment)
        await _deliver(
            session, lead.lead_id, lead.target_partner_id, kind="withdrawal", body=body, now=moment
        )
        await _route(session, lead, policy, moment)
    return len(leads)


async def recheck_waiting(
    session: AsyncSession, *, now: datetime, limit: int, policy: RoutingPolicy = RoutingPolicy()
) -> int:
    """Look again at up to ``limit`` waiting leads that are due; returns how many."""
    leads = await repository.waiting_leads_due(session, now, limit)
    for lead in leads:
        await _route(session, lead, policy, now)
    return len(leads)


async def record_conversion(session: AsyncSession, event: ConversionReported) -> None:
    """A won deal (or its refund) counts towards the target's conversion history."""
    await repository.record_conversion(
        session, event.lead_id, event.target_partner_id, won=event.status == "won"
    )


async def decisions_of(
    session: AsyncSession, lead_id: str, partner_id: str | None
) -> list[tuple[Decision, RoutingDecision]]:
    """The lead's routing decisions in order, for its source partner or the operator
    (``partner_id`` None); ``NotFound`` if the lead is unknown or not the caller's."""
    lead = await repository.routed_lead(session, lead_id)
    if lead is None or partner_id not in (None, lead.source_partner_id):
        raise NotFound(f"lead {lead_id}")
    return [
        (row, RoutingDecision.model_validate(row.decision))
        for row in await repository.decisions(session, lead_id)
    ]
