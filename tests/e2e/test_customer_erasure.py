"""Erasing a customer on real processes: no `crosslead.*` topic ever holds the customer's phone
or e-mail in clear (before and after erasure), the partner the lead is offered to gets the
contact until the customer is erased and never after, and the deal and its commission stay."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from crosslead_local.localstack import LocalStack
from tests.e2e.harness import Client, lead
from tests.support import eventually
from tests.support.webhooks import Receiver

PHONE = "030 5550142"
EMAIL = "ada.e2e@example.com"
#: How the contact could appear in clear: as written, its digits, in E.164, the e-mail.
IN_CLEAR = ("5550142", "30 555", "+49305550142", EMAIL, "ada.e2e")


async def every_crosslead_record(stack: LocalStack) -> list[bytes]:
    """The key, value and headers of every record on every ``crosslead.*`` topic (the dead
    letters included), read from the start until nothing more arrives."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.broker.bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        topics = sorted(t for t in await consumer.topics() if t.startswith("crosslead."))
        assert "crosslead.leads" in topics
        assert "crosslead.leads.dlq" in topics
        consumer.subscribe(topics)
        seen: list[bytes] = []
        idle = 0
        while idle < 10:  # two seconds without a new record
            batch = [r for rs in (await consumer.getmany(timeout_ms=200)).values() for r in rs]
            idle = 0 if batch else idle + 1
            for record in batch:
                headers = b"".join(k.encode() + v for k, v in record.headers)
                seen.append((record.key or b"") + (record.value or b"") + headers)
        return seen
    finally:
        await consumer.stop()


def in_clear(records: list[bytes]) -> list[bytes]:
    return [r for r in records if any(text.encode() in r for text in IN_CLEAR)]


@pytest.fixture
def stack_env() -> dict[str, str]:
    """A failing receiver is retried every half second, and its breaker never opens."""
    return {
        "CROSSLEAD_ROUTER_WEBHOOK_BACKOFF_SECONDS": "[0.5]",
        "CROSSLEAD_ROUTER_WEBHOOK_BACKOFF_JITTER": "0",
        "CROSSLEAD_ROUTER_WEBHOOK_MAX_ATTEMPTS": "100000",
        "CROSSLEAD_ROUTER_WEBHOOK_BREAKER_FAILURES": "100000",
    }


async def test_an_erased_customer_is_unreadable_everywhere_and_never_in_clear_on_a_topic(
    stack: LocalStack, client: Client, receiver: tuple[Receiver, str]
) -> None:
    hooks, base_url = receiver
    shop = await client.partner("Window shop", ["windows"], ["berlin"], country="DE")
    fitter = await client.partner("Fitters", ["installation", "repair"], ["berlin"])
    await client.agreement(
        shop, fitter, categories=["installation", "repair"], share_contact="on_offer"
    )
    for partner in (shop, fitter):
        await client.webhook_endpoint(partner, hooks, base_url)
    hooks.failures[fitter.id] = 1_000_000  # the fitter's receiver is down: offers are retried

    customer = {"name": "Ada Buyer", "phone": PHONE, "email": EMAIL}
    won = (await client.submit(shop, {**lead("berlin", PHONE), "customer": customer}))["id"]
    offered_body = {**lead("berlin", PHONE, need="repair"), "customer": customer}
    offered = (await client.submit(shop, offered_body))["id"]

    async def contact_sent() -> bool:
        bodies = [r.body for r in hooks.requests[fitter.id]]
        return sum(EMAIL.encode() in b and PHONE.encode() in b for b in bodies) >= 2

    await eventually(contact_sent, timeout=30)  # both offers, contact opened for the partner
    await client.accept(fitter, won)
    await client.report_deal(fitter, won, "deal-1", "won", "1000.00")
    await client.until_recorded(won, "commission_accrued")
    assert in_clear(await every_crosslead_record(stack)) == []

    erased = await client.http.post(
        client.url("intake", "/v1/customers/erase"),
        headers=shop.auth,
        json={"phone": "+49 30 5550142"},
    )
    assert (erased.status_code, erased.json()) == (202, {"count": 2})
    for lead_id in (won, offered):
        assert (await client.lead(lead_id))["customer_erased_at"] is not None
    # The deal and its commission stay.
    timeline = (await client.lead(won))["timeline"]
    [converted] = [e for e in timeline if e["type"] == "converted"]
    assert (converted["amount"], converted["currency"]) == ("1000.00", "EUR")
    assert "commission_accrued" in [e["type"] for e in timeline]

    # Within seconds the router has deleted its copy of the key: the pending offer's attempts
    # go out without the contact from then on, and so does the one that finally arrives.
    def attempts_of(lead_id: str) -> list[bytes]:
        return [r.body for r in hooks.requests[fitter.id] if lead_id.encode() in r.body]

    async def first_without_contact() -> int | None:
        bodies = attempts_of(offered)
        clean = [n for n, body in enumerate(bodies) if EMAIL.encode() not in body]
        return clean[0] if clean else None

    first = await eventually(first_without_contact, timeout=30)

    async def more_attempts() -> list[bytes] | None:
        later = attempts_of(offered)[first:]
        return later if len(later) >= 3 else None

    for body in await eventually(more_attempts, timeout=30):
        assert EMAIL.encode() not in body
        assert PHONE.encode() not in body
    hooks.failures[fitter.id] = 0

    async def delivered() -> list[Any] | None:
        return hooks.offers_for(offered) or None

    [offer] = await eventually(delivered, timeout=30)
    assert "customer" not in offer.body["data"]
    assert offer.body["data"]["need"] == "repair"
    assert in_clear(await every_crosslead_record(stack)) == []
