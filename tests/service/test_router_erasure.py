"""Erasing a customer in the router, in-process on real databases with a real receiver: a
webhook carries the contact (opened at send time) until ``customer.erased`` arrives, then
never again, not even after ``lead.received`` is read once more."""

from __future__ import annotations

import json

import pytest

from crosslead_common.events import CustomerErased, Envelope
from tests.support import eventually
from tests.support.router import CUSTOMER, agreement, lead, network, partner

SHOP = partner("shop", "north")
FITTER = partner("fitter", "north")


pytestmark = pytest.mark.schema("router")


def carries_contact(body: bytes) -> bool:
    return CUSTOMER.email is not None and CUSTOMER.email.encode() in body


async def test_the_router_stops_sending_the_contact_once_the_customer_is_erased(
    database_url: str,
) -> None:
    async with network(
        database_url,
        [SHOP, FITTER],
        [agreement("agr", SHOP.id, FITTER.id, share_contact="on_offer")],
        webhook_backoff_seconds=(0.3,),
        webhook_max_attempts=1000,
        webhook_breaker_failures=1000,
    ) as net:
        net.receiver.failures[FITTER.id] = 1_000_000  # every attempt fails until told
        received = lead("lead-1", SHOP.id, region="north")
        await net.publish(received)

        async def attempts(count: int) -> list[bytes] | None:
            bodies = [r.body for r in net.receiver.requests[FITTER.id]]
            return bodies if len(bodies) >= count else None

        before = await eventually(lambda: attempts(1), timeout=30)
        assert carries_contact(before[0])  # opened at send time with the router's key copy

        await net.publish(CustomerErased(lead_id="lead-1", source_partner_id=SHOP.id))
        erased_after = len(net.receiver.requests[FITTER.id])
        # One attempt may have been claimed before the erasure was applied; the rest not.
        later = (await eventually(lambda: attempts(erased_after + 3), timeout=30))[
            erased_after + 1 :
        ]
        assert later
        assert not any(carries_contact(body) for body in later)
        # lead.received read again (a replay from the dead-letter topic) brings no key back.
        await net.publish(Envelope.wrap(received, source="replay"))
        replayed = len(net.receiver.requests[FITTER.id])
        after_replay = (await eventually(lambda: attempts(replayed + 2), timeout=30))[replayed:]
        assert not any(carries_contact(body) for body in after_replay)
        offered = json.loads(after_replay[-1])
        assert "customer" not in offered["data"]
        assert offered["data"]["warmth"]["score"] == 5  # everything else is still sent
