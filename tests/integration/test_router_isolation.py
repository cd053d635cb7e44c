"""No partner can break delivery to others: a hanging endpoint holds at most its share of the
dispatcher, and an endpoint that was down gets each webhook once, under one id, when it is back.
Real broker, database and receivers."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from standardwebhooks import Webhook

from crosslead_common.db import Database
from crosslead_common.events import LeadDelivered, Topic
from crosslead_local.localstack import LocalBroker
from tests.integration.test_router_delivery import deliveries, register_endpoint
from tests.support import eventually
from tests.support.kafka import publish, read_until
from tests.support.router import agreement, lead, of_type, partner, projection_size, running_router
from tests.support.webhooks import webhook_receiver

pytestmark = pytest.mark.schema("router")

SHOP = partner("shop", "north", "south")
HEALTHY = partner("healthy", "north")
HANGING = partner("hanging", "south")


async def known(db: Database, size: tuple[int, int]) -> bool:
    return await projection_size(db) == size


async def deliver_one_after_another(
    http: httpx.AsyncClient, broker: LocalBroker, prefix: str, count: int
) -> None:
    """Offer ``count`` leads to the healthy partner, one after the other, each delivered
    before the next is sent."""
    for n in range(count):
        lead_id = f"{prefix}-{n}"
        await publish(broker, lead(lead_id, SHOP.id, "north"))

        async def delivered(lead_id: str = lead_id) -> bool:
            seen = await deliveries(http, HEALTHY.key, lead_id)
            return bool(seen) and seen[0]["status"] == "delivered"

        await eventually(delivered)


async def test_a_hanging_partner_holds_four_requests_and_does_not_hold_up_the_others(
    broker: LocalBroker, database_url: str
) -> None:
    """The hanging partner's 40 requests never get an answer while the test runs, and there
    are 16 slots in all: every healthy delivery goes through all the same, so none of them
    waited for a slot the hanging partner holds. (How much it slows the healthy partner down
    is measured in ``make bench``: a ratio of latencies, not a test.)"""
    async with (
        webhook_receiver() as (receiver, hooks_url),
        # Attempts hang for the whole test: the breaker never sees them fail, so only the
        # per-endpoint cap stands between the hanging partner and the shared capacity.
        running_router(
            database_url, broker, webhook_timeout_seconds=300, webhook_concurrency=16
        ) as (http, db),
    ):
        await publish(
            broker,
            SHOP.registered(),
            HEALTHY.registered(),
            HANGING.registered(),
            agreement("agr-healthy", SHOP.id, HEALTHY.id),
            agreement("agr-hanging", SHOP.id, HANGING.id),
        )
        await eventually(lambda: known(db, (3, 2)))
        await register_endpoint(http, HEALTHY, f"{hooks_url}/hooks/healthy")
        await register_endpoint(http, HANGING, f"{hooks_url}/hooks/hanging")
        receiver.hanging.add("hanging")

        await publish(broker, *(lead(f"stuck-{n}", SHOP.id, "south") for n in range(40)))
        await eventually(lambda: receiver.in_flight["hanging"] == 4)
        await deliver_one_after_another(http, broker, "beside", 20)

        assert len(receiver.requests["healthy"]) == 20
        # All the while, the hanging partner had 4 requests open, never more, none answered.
        assert receiver.in_flight["hanging"] == 4
        assert receiver.most_in_flight["hanging"] == 4
        assert len(receiver.requests["hanging"]) == 4


async def test_an_outage_ends_in_one_delivery_under_one_webhook_id(
    broker: LocalBroker, database_url: str
) -> None:
    async with (
        webhook_receiver() as (receiver, hooks_url),
        running_router(
            database_url,
            broker,
            webhook_backoff_seconds=(0.5,),
            webhook_max_attempts=100,
            webhook_breaker_failures=3,
            webhook_breaker_cooldown_seconds=1,
        ) as (http, db),
    ):
        await publish(
            broker,
            SHOP.registered(),
            HEALTHY.registered(),
            agreement("agr-healthy", SHOP.id, HEALTHY.id),
        )
        await eventually(lambda: known(db, (2, 1)))
        endpoint = await register_endpoint(http, HEALTHY, f"{hooks_url}/hooks/healthy")
        receiver.failures["healthy"] = 1_000_000  # down
        await publish(broker, lead("lead-out", SHOP.id, "north"))
        await eventually(lambda: len(receiver.requests["healthy"]) >= 3)
        await asyncio.sleep(8)
        during = len(receiver.requests["healthy"])
        receiver.failures["healthy"] = 0  # back

        events = await read_until(
            broker, Topic.LEADS, lambda evs: bool(of_type(evs, LeadDelivered, "lead-out"))
        )
        [delivered] = of_type(events, LeadDelivered, "lead-out")
        tries = receiver.requests["healthy"]
        assert {t.headers["webhook-id"] for t in tries} == {delivered.webhook_id}
        for attempt in tries:
            assert Webhook(endpoint["secret"]).verify(attempt.body, attempt.headers) == json.loads(
                attempt.body
            )
        [seen] = await deliveries(http, HEALTHY.key, "lead-out")
        codes = [a["status_code"] for a in seen["attempts"]]
        assert codes.count(204) == 1
        assert codes[-1] == 204
        # The breaker held the retries back: without it, 0.5 s backoff makes ~16 in 8 s.
        assert during <= 12
