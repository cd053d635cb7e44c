"""Blind offers: the customer's contact goes only to the partner that accepted the lead (by a
signed ``lead.contact`` webhook), unless the agreement shares it in the offer (``on_offer``).
In-process router on real databases with a real receiver verifying signatures."""

from __future__ import annotations

import json

import pytest
from standardwebhooks import Webhook

from crosslead_common.events import LeadAccepted, LeadExpired, LeadRejected, LeadUnroutable
from tests.support import bearer, eventually
from tests.support.router import (
    Network,
    agreement,
    lead,
    network,
    of_type,
    partner,
    webhooks,
)

pytestmark = pytest.mark.schema("router")

SHOP = partner("shop", "north")
DECLINER = partner("fitter-declines", "north")
TAKER = partner("fitter-takes", "north")
SLEEPER = partner("fitter-sleeps", "east")
OPEN = partner("fitter-open", "south")
PARTIES = [SHOP, DECLINER, TAKER, SLEEPER, OPEN]
AGREEMENTS = [
    agreement("agr-declines", SHOP.id, DECLINER.id),
    agreement("agr-takes", SHOP.id, TAKER.id),
    agreement("agr-sleeps", SHOP.id, SLEEPER.id, accept_within=1),
    agreement("agr-open", SHOP.id, OPEN.id, share_contact="on_offer"),
]
#: The contact of every lead of tests.support.router.lead().
CUSTOMER = {"name": "Zoë Client", "phone": None, "email": "zoe@example.com"}


def bodies(net: Network, partner_id: str) -> list[str]:
    """Every webhook body the partner's receiver got, as text."""
    return [r.body.decode() for r in net.receiver.requests[partner_id]]


async def test_only_the_partner_that_accepted_receives_the_contact(database_url: str) -> None:
    async with network(database_url, PARTIES, AGREEMENTS) as net:
        [endpoint] = (
            await net.http.get("/v1/webhook-endpoints", headers=bearer(TAKER.key))
        ).json()["items"]
        narrowed = await net.http.patch(
            f"/v1/webhook-endpoints/{endpoint['id']}",
            headers=bearer(TAKER.key),
            json={"event_types": ["lead.offered", "lead.contact"]},
        )
        assert narrowed.status_code == 200, narrowed.text
        assert sorted(narrowed.json()["event_types"]) == ["lead.contact", "lead.offered"]

        await net.publish(
            lead("lead-north", SHOP.id, region="north"),
            lead("lead-east", SHOP.id, region="east"),
            lead("lead-south", SHOP.id, region="south"),
        )
        # Whichever of the two northern fitters is offered the lead first declines it; the
        # other one accepts it.
        first = await eventually(
            lambda: next(
                (p for p in (DECLINER, TAKER) if webhooks(net.receiver, p.id, "lead.offered")),
                None,
            )
        )
        second = TAKER if first is DECLINER else DECLINER
        await net.publish(LeadRejected(lead_id="lead-north", partner_id=first.id))
        await eventually(lambda: webhooks(net.receiver, second.id, "lead.offered"))
        await net.publish(LeadAccepted(lead_id="lead-north", partner_id=second.id))

        [contact] = await eventually(lambda: webhooks(net.receiver, second.id, "lead.contact"))
        assert contact == {"lead_id": "lead-north", "customer": CUSTOMER}
        [raw] = [r for r in net.receiver.requests[second.id] if b'"lead.contact"' in r.body]
        verified = Webhook(net.secrets[second.id]).verify(raw.body, raw.headers)
        assert verified["data"] == contact
        [offer] = webhooks(net.receiver, second.id, "lead.offered")
        assert "customer" not in offer
        assert {"need", "region", "warmth", "manager", "accept_by"} <= offer.keys()

        # Under an on_offer agreement the offer itself carries the contact.
        [open_offer] = await eventually(lambda: webhooks(net.receiver, OPEN.id, "lead.offered"))
        assert open_offer["customer"] == CUSTOMER

        # The sleeper's offer expires and is withdrawn; nobody else serves the east.
        events = await net.events_until(lambda evs: bool(of_type(evs, LeadUnroutable, "lead-east")))
        assert [e.target_partner_id for e in of_type(events, LeadExpired, "lead-east")] == [
            SLEEPER.id
        ]
        await eventually(lambda: webhooks(net.receiver, SLEEPER.id, "lead.withdrawn"))

        for former in (first, SLEEPER):
            assert bodies(net, former.id), former.id
            for body in bodies(net, former.id):
                data = json.loads(body)["data"]
                assert "customer" not in data
                assert json.loads(body)["type"] != "lead.contact"
                for value in ("Zoë", "Client", "zoe@example.com"):
                    assert value not in body
