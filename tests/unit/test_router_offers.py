"""The ``lead.offered`` webhook body, as API.md fixes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from crosslead_common.crypto import new_key
from crosslead_common.customers import CustomerVault
from crosslead_common.events import Consent, Customer, LeadReceived, Manager, Warmth
from crosslead_router.offers import offer_body, offer_data

VAULT = CustomerVault.from_settings(new_key())

LEAD = LeadReceived(
    lead_id="lead_1",
    source_partner_id="shop",
    source_partner_name="Window Shop",
    need="installation",
    region="south",
    customer=VAULT.seal("lead_1", Customer(name="Zoë Client", phone="+3312345678")),
    consent=Consent(given_at=datetime(2026, 1, 1, tzinfo=UTC), text="ok to share"),
    warmth=Warmth(notes="wants it before winter", score=4),
    manager=Manager(id="m-7", name="Ann"),
)


def test_offer_body_has_exactly_the_documented_shape_once_its_customer_is_opened() -> None:
    stored = offer_body(
        offer_data(LEAD),
        accept_by=datetime(2026, 1, 2, 12, 0, tzinfo=UTC),
        now=datetime(2026, 1, 1, 12, 0, 0, 500000, tzinfo=UTC),
    )
    assert "Zoë" not in stored
    assert "3312345678" not in stored
    body = json.loads(stored)
    body["data"] = VAULT.reveal(body["data"], "lead_1", LEAD.customer.data_key)
    assert body == {
        "type": "lead.offered",
        "timestamp": "2026-01-01T12:00:00.500000Z",
        "data": {
            "lead_id": "lead_1",
            "need": "installation",
            "region": "south",
            "customer": {"name": "Zoë Client", "phone": "+3312345678", "email": None},
            "warmth": {"notes": "wants it before winter", "score": 4},
            "source_partner": {"id": "shop", "name": "Window Shop"},
            "manager": {"id": "m-7", "name": "Ann"},
            "accept_by": "2026-01-02T12:00:00Z",
        },
    }


def test_an_erased_customer_is_left_out_of_the_body() -> None:
    stored = offer_body(
        offer_data(LEAD), accept_by=datetime(2026, 1, 2, tzinfo=UTC), now=datetime.now(UTC)
    )
    data = VAULT.reveal(json.loads(stored)["data"], "lead_1", None)
    assert "customer" not in data
    assert data["lead_id"] == "lead_1"
    assert data["warmth"]["score"] == 4
