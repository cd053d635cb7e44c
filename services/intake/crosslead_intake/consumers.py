"""Builds the lead-timeline read model from the lifecycle events of router and payouts."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common import events
from crosslead_common.events import Envelope
from crosslead_common.kafka import Handlers, InvalidEvent
from crosslead_intake.leads import queries
from crosslead_intake.leads.service import apply_fact
from crosslead_intake.lifecycle import takes_routing
from crosslead_intake.models import Lead

handlers = Handlers()

# The facts other services publish about a lead, and the name each has in the timeline.
_FACTS: dict[type[events.EventData], str] = {
    events.LeadWaiting: "waiting",
    events.LeadUnroutable: "unroutable",
    events.LeadDelivered: "delivered",
    events.LeadDeliveryFailed: "delivery_failed",
    events.LeadExpired: "expired",
    events.CommissionAccrued: "commission_accrued",
    events.CommissionReversed: "commission_reversed",
    events.PayoutSettled: "paid",
}
# Facts about one offer: they move the lead only while that offer is the current one.
_OFFER_FACTS = (events.LeadDelivered, events.LeadDeliveryFailed, events.LeadExpired)


async def _lead(session: AsyncSession, lead_id: str) -> Lead:
    lead = await queries.get_lead(session, lead_id, for_update=True)
    if lead is None:
        raise InvalidEvent(f"no lead {lead_id}")
    return lead


async def _record(session: AsyncSession, event: events.EventData, envelope: Envelope) -> None:
    lead = await _lead(session, envelope.subject)
    fact = _FACTS[type(event)]
    details = event.model_dump(mode="json", exclude={"lead_id"})
    # A delivery happened when the offer was sent, not when the router heard the answer.
    at = event.sent_at if isinstance(event, events.LeadDelivered) else envelope.time
    if isinstance(event, _OFFER_FACTS) and event.target_partner_id != lead.target_partner_id:
        queries.add_timeline_entry(session, lead.id, fact, at, details)  # an earlier offer
    else:
        apply_fact(session, lead, fact, at, details)


for _event_type in _FACTS:
    handlers.on(_event_type)(_record)


@handlers.on(events.LeadRouted)
async def lead_routed(session: AsyncSession, event: events.LeadRouted, envelope: Envelope) -> None:
    """Remember whom the lead is offered to now: that partner alone may accept it and report
    deals; every partner it was ever offered to may still read it."""
    lead = await _lead(session, event.lead_id)
    await queries.add_offer(session, lead.id, event.target_partner_id, event.hop, envelope.time)
    details = event.model_dump(mode="json", exclude={"lead_id", "source_partner_id"})
    queries.add_timeline_entry(session, lead.id, "routed", envelope.time, details)
    if takes_routing(lead.status, lead.hop, event.hop):
        lead.status = "routed"
        lead.target_partner_id = event.target_partner_id
        lead.agreement_id = event.agreement_id
        lead.accept_by = event.accept_by
        lead.hop = event.hop
