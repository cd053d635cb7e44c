"""Webhook delivery by the router's dispatcher and deadline watcher, in-process on real
databases with a real HTTP receiver: retries under one webhook id, giving up, and offers that
expire while their retries are stopped."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from crosslead_common.events import (
    AgreementCreated,
    Envelope,
    LeadAccepted,
    LeadDelivered,
    LeadDeliveryFailed,
    LeadExpired,
    LeadRejected,
    LeadRouted,
    LeadUnroutable,
)
from tests.support import bearer, eventually
from tests.support.router import agreement, lead, network, of_type, partner

pytestmark = pytest.mark.schema("router")

SHOP = partner("shop", "north")
NORTH = partner("fitter-north", "north")
SOUTH = partner("fitter-south", "south", "east")
PARTIES = [SHOP, NORTH, SOUTH]


def deals(*, north_accept: int = 3600, south_accept: int = 3600) -> list[AgreementCreated]:
    return [
        agreement("agr-north", SHOP.id, NORTH.id, north_accept),
        agreement("agr-south", SHOP.id, SOUTH.id, south_accept),
    ]


async def deliveries(http: httpx.AsyncClient, token: str, lead_id: str) -> list[dict[str, Any]]:
    response = await http.get("/v1/deliveries", params={"lead_id": lead_id}, headers=bearer(token))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_failing_endpoint_is_retried_under_one_webhook_id_and_then_given_up(
    database_url: str,
) -> None:
    # fitter-north registers no endpoint at all.
    async with network(
        database_url, PARTIES, deals(), endpoints=[SOUTH], webhook_max_attempts=3
    ) as net:
        net.receiver.failures[SOUTH.id] = 2
        await net.publish(lead("lead-s", SHOP.id, region="south"), lead("lead-n", SHOP.id, "north"))

        def finished(evs: list[Envelope]) -> bool:
            return bool(of_type(evs, LeadDelivered, "lead-s")) and bool(
                of_type(evs, LeadDeliveryFailed, "lead-n")
            )

        events = await net.events_until(finished)
        [delivered] = of_type(events, LeadDelivered, "lead-s")
        assert delivered.attempts == 3
        tries = net.receiver.requests[SOUTH.id]
        assert [t.headers["webhook-id"] for t in tries] == [delivered.webhook_id] * 3
        assert len({t.body for t in tries}) == 1
        for attempt in tries:
            Webhook(net.secrets[SOUTH.id]).verify(attempt.body, attempt.headers)
        [seen] = await deliveries(net.http, SOUTH.key, "lead-s")
        assert (seen["status"], seen["attempt_count"]) == ("delivered", 3)
        assert [a["status_code"] for a in seen["attempts"]] == [500, 500, 204]

        [failed] = of_type(events, LeadDeliveryFailed, "lead-n")
        assert (failed.target_partner_id, failed.attempts) == (NORTH.id, 3)
        assert failed.last_error == f"partner {NORTH.id} has no active webhook endpoint"
        [gave_up] = await deliveries(net.http, NORTH.key, "lead-n")
        assert (gave_up["status"], gave_up["next_attempt_at"]) == ("failed", None)
        assert [a["error"] for a in gave_up["attempts"]] == [failed.last_error] * 3
        assert [a["url"] for a in gave_up["attempts"]] == [None] * 3


async def test_a_lead_nobody_accepts_in_time_expires_and_its_retries_stop(
    database_url: str,
) -> None:
    async with network(
        database_url,
        PARTIES,
        deals(north_accept=3, south_accept=6),
        webhook_backoff_seconds=(0.3,),
        webhook_max_attempts=1000,
    ) as net:
        net.receiver.failures[SOUTH.id] = 10_000  # south's endpoint is down: retries pile up
        await net.publish(
            lead("lead-taken", SHOP.id, region="north"),
            lead("lead-declined", SHOP.id, region="north"),
            lead("lead-left", SHOP.id, region="south"),
            lead("lead-nowhere", SHOP.id, region="west"),
        )
        await eventually(lambda: len(net.receiver.requests[NORTH.id]) == 2)
        await net.publish(
            LeadAccepted(lead_id="lead-taken", partner_id=NORTH.id),
            LeadRejected(lead_id="lead-declined", partner_id=NORTH.id, reason="booked up"),
        )

        events = await net.events_until(lambda evs: bool(of_type(evs, LeadExpired, "lead-left")))
        [routed] = of_type(events, LeadRouted, "lead-left")
        [expired] = of_type(events, LeadExpired, "lead-left")
        assert (expired.target_partner_id, expired.accept_by) == (SOUTH.id, routed.accept_by)
        # Their shorter deadlines passed before lead-left's, but they were answered.
        assert of_type(events, LeadExpired, "lead-taken") == []
        assert of_type(events, LeadExpired, "lead-declined") == []
        assert [e.reason for e in of_type(events, LeadUnroutable, "lead-nowhere")] == [
            "no partner covering 'installation' serves the region 'west'"
        ]
        assert of_type(events, LeadRouted, "lead-nowhere") == []

        async def called_off() -> dict[str, Any] | None:
            seen = await deliveries(net.http, SOUTH.key, "lead-left")
            [offer] = [d for d in seen if d["kind"] == "offer"]
            return offer if offer["status"] == "cancelled" else None

        cancelled = await eventually(called_off)
        assert cancelled["next_attempt_at"] is None
        assert cancelled["attempt_count"] >= 2
        # The expired offer is withdrawn (by webhook, retried like any other); nobody else
        # serves the south, so the lead is unroutable after its one hop.
        kinds = [d["kind"] for d in await deliveries(net.http, SOUTH.key, "lead-left")]
        assert sorted(kinds) == ["offer", "withdrawal"]
        [unroutable] = of_type(
            await net.events_until(lambda evs: bool(of_type(evs, LeadUnroutable, "lead-left"))),
            LeadUnroutable,
            "lead-left",
        )
        assert unroutable.reason == "every partner that could take the lead has had it"
        [taken] = [
            d for d in await deliveries(net.http, NORTH.key, "lead-taken") if d["kind"] == "offer"
        ]
        assert taken["status"] == "delivered"
