"""The ``lead.offered`` webhook body, as API.md fixes it: blind unless the agreement shares
the customer's contact ``on_offer``; the contact is stored sealed and opened only when sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from crosslead_common.crypto import new_key
from crosslead_common.customers import CustomerVault
from crosslead_common.events import Consent, Customer, LeadReceived, Manager, ShareContact, Warmth
from crosslead_router.offers import offer_body, offer_data, offered_data

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


def stored_body(share_contact: ShareContact) -> str:
    return offer_body(
        offered_data(offer_data(LEAD), share_contact),
        accept_by=datetime(2026, 1, 2, 12, 0, tzinfo=UTC),
        now=datetime(2026, 1, 1, 12, 0, 0, 500000, tzinfo=UTC),
    )


def sent_body(share_contact: ShareContact, data_key: str | None) -> Any:
    body = json.loads(stored_body(share_contact))
    body["data"] = VAULT.reveal(body["data"], "lead_1", data_key)
    return body


@pytest.mark.parametrize(
    ("share_contact", "data"), [("on_accept", BLIND), ("on_offer", BLIND | CONTACT)]
)
def test_offer_body_has_exactly_the_documented_shape(
    share_contact: ShareContact, data: dict[str, Any]
) -> None:
    assert sent_body(share_contact, LEAD.customer.data_key) == {
        "type": "lead.offered",
        "timestamp": "2026-01-01T12:00:00.500000Z",
        "data": data,
    }


def test_a_blind_offer_holds_no_trace_of_the_contact() -> None:
    text = json.dumps(sent_body("on_accept", LEAD.customer.data_key), ensure_ascii=False)
    for value in ("Zoë Client", "+3312345678", "customer"):
        assert value not in text


def test_the_stored_body_holds_the_contact_only_sealed() -> None:
    stored = stored_body("on_offer")
    assert "Zoë" not in stored
    assert "3312345678" not in stored


def test_an_erased_customer_is_left_out_of_the_body() -> None:
    data = sent_body("on_offer", None)["data"]
    assert "customer" not in data
    assert data["lead_id"] == "lead_1"
    assert data["warmth"]["score"] == 4
