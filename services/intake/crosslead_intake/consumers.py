"""Builds the lead-timeline read model from the lifecycle events of router and payouts."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common import events
from crosslead_common.events import Envelope
from crosslead_common.kafka import Handlers, InvalidEvent
from crosslead_intake import repository, service

handlers = Handlers()

# The facts other services publish about a lead, and the name each has in the timeline.
_FACTS: dict[type[events.EventData], str] = {
    events.LeadUnroutable: "unroutable",
    events.LeadDelivered: "delivered",
    events.LeadDeliveryFailed: "delivery_failed",
    events.LeadExpired: "expired",
    events.CommissionAccrued: "commission_accrued",
    events.CommissionReversed: "commission_reversed",
}


async def _record(session: AsyncSession, event: events.EventData, envelope: Envelope) -> None:
    lead_id = envelope.subject
    lead = await repository.get_lead(session, lead_id, for_update=True)
    if lead is None:
        raise InvalidEvent(f"no lead {lead_id}")
    details = event.model_dump(mode="json", exclude={"lead_id"})
    # A delivery happened when the offer was sent, not when the router heard the answer.
    at = event.sent_at if isinstance(event, events.LeadDelivered) else envelope.time
    service.apply_fact(session, lead, _FACTS[type(event)], at, details)


for _event_type in _FACTS:
    handlers.on(_event_type)(_record)


@handlers.on(events.LeadRouted)
async def lead_routed(session: AsyncSession, event: events.LeadRouted, envelope: Envelope) -> None:
    """Remember whom the lead went to: that partner may now accept it and report deals."""
    lead = await repository.get_lead(session, event.lead_id, for_update=True)
    if lead is None:
        raise InvalidEvent(f"no lead {event.lead_id}")
    lead.target_partner_id = event.target_partner_id
    lead.agreement_id = event.agreement_id
    lead.accept_by = event.accept_by
    details = event.model_dump(mode="json", exclude={"lead_id", "source_partner_id"})
    service.apply_fact(session, lead, "routed", envelope.time, details)
