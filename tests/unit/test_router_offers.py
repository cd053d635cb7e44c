"""The ``lead.offered`` webhook body, as API.md fixes it: blind unless the agreement shares
the customer's contact ``on_offer``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from crosslead_common.events import Consent, Customer, LeadReceived, Manager, ShareContact, Warmth
from crosslead_router.offers import offer_body, offer_data, offered_data

LEAD = LeadReceived(
    lead_id="lead_1",
    source_partner_id="shop",
    source_partner_name="Window Shop",
    need="installation",
    region="south",
    customer=Customer(name="Zoë Client", phone="+3312345678"),
    consent=Consent(given_at=datetime(2026, 1, 1, tzinfo=UTC), text="ok to share"),
    warmth=Warmth(notes="wants it before winter", score=4),
    manager=Manager(id="m-7", name="Ann"),
)

BLIND = {
    "lead_id": "lead_1",
    "need": "installation",
    "region": "south",
    "warmth": {"notes": "wants it before winter", "score": 4},
    "source_partner": {"id": "shop", "name": "Window Shop"},
    "manager": {"id": "m-7", "name": "Ann"},
    "accept_by": "2026-01-02T12:00:00Z",
}
CONTACT = {"customer": {"name": "Zoë Client", "phone": "+3312345678", "email": None}}


def body_of(share_contact: ShareContact) -> Any:
    return json.loads(
        offer_body(
            offered_data(offer_data(LEAD), share_contact),
            accept_by=datetime(2026, 1, 2, 12, 0, tzinfo=UTC),
            now=datetime(2026, 1, 1, 12, 0, 0, 500000, tzinfo=UTC),
        )
    )


@pytest.mark.parametrize(
    ("share_contact", "data"), [("on_accept", BLIND), ("on_offer", BLIND | CONTACT)]
)
def test_offer_body_has_exactly_the_documented_shape(
    share_contact: ShareContact, data: dict[str, Any]
) -> None:
    assert body_of(share_contact) == {
        "type": "lead.offered",
        "timestamp": "2026-01-01T12:00:00.500000Z",
        "data": data,
    }


def test_a_blind_offer_holds_no_trace_of_the_contact() -> None:
    text = json.dumps(body_of("on_accept"), ensure_ascii=False)
    for value in ("Zoë Client", "+3312345678", "customer"):
        assert value not in text
