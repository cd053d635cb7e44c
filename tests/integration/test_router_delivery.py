"""The router end to end on a real broker and database: events in, signed webhooks out to a
real HTTP receiver, retries, give-ups and deadlines, and the events it publishes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from crosslead_common.db import Database
from crosslead_common.events import (
    Envelope,
    LeadAccepted,
    LeadDelivered,
    LeadDeliveryFailed,
    LeadExpired,
    LeadRejected,
    LeadRouted,
    LeadUnroutable,
    Topic,
)
from crosslead_common.kafka import ensure_topics
from crosslead_common.localstack import LocalBroker
from crosslead_router.models import processed_events
from tests.support import ADMIN_TOKEN, bearer, eventually
from tests.support.kafka import publish, read_until
from tests.support.router import (
    PartnerSpec,
    agreement,
    lead,
    of_type,
    partner,
    projection_size,
    running_router,
)
from tests.support.webhooks import webhook_receiver

pytestmark = pytest.mark.schema("router")


SHOP = partner("shop", "north")
NORTH = partner("fitter-north", "north")
SOUTH = partner("fitter-south", "south", "east")


async def set_up_partners(
    broker: LocalBroker, db: Database, *, north_accept: int = 3600, south_accept: int = 3600
) -> None:
    await publish(
        broker,
        SHOP.registered(),
        NORTH.registered(),
        SOUTH.registered(),
        agreement("agr-north", SHOP.id, NORTH.id, north_accept),
        agreement("agr-south", SHOP.id, SOUTH.id, south_accept),
    )

    async def known() -> bool:
        return await projection_size(db) == (3, 2)

    await eventually(known, timeout=30)


async def register_endpoint(http: httpx.AsyncClient, who: PartnerSpec, url: str) -> dict[str, Any]:
    response = await http.post("/v1/webhook-endpoints", headers=bearer(who.key), json={"url": url})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def deliveries(http: httpx.AsyncClient, token: str, lead_id: str) -> list[dict[str, Any]]:
    response = await http.get("/v1/deliveries", params={"lead_id": lead_id}, headers=bearer(token))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_lead_is_offered_once_signed_to_the_partner_in_its_region(
    broker: LocalBroker, database_url: str
) -> None:
    async with (
        webhook_receiver() as (receiver, hooks_url),
        # Polling only every 60 s: an offer sent well within that means the dispatcher was woken.
        running_router(database_url, broker, dispatcher_poll_interval_seconds=60) as (http, db),
    ):
        await set_up_partners(broker, db)
        south = await register_endpoint(http, SOUTH, f"{hooks_url}/hooks/south")
        await register_endpoint(http, NORTH, f"{hooks_url}/hooks/north")
        assert south["secret"].startswith("whsec_")

        received = lead("lead-1", SHOP.id, region="south")
        [first] = await publish(broker, received)
        # The same event redelivered, and the same lead re-published under a new event id.
        again = Envelope.wrap(received, source="test")
        await publish(broker, first, again)

        events = await read_until(
            broker, Topic.LEADS, lambda evs: bool(of_type(evs, LeadDelivered, "lead-1"))
        )
        [routed] = of_type(events, LeadRouted, "lead-1")
        [delivered] = of_type(events, LeadDelivered, "lead-1")
        assert (routed.target_partner_id, routed.agreement_id) == (SOUTH.id, "agr-south")
        assert (delivered.target_partner_id, delivered.attempts) == (SOUTH.id, 1)

        [offer] = receiver.requests["south"]
        assert receiver.requests["north"] == []
        assert Webhook(south["secret"]).verify(offer.body, offer.headers) == json.loads(offer.body)
        assert offer.headers["webhook-id"] == delivered.webhook_id
        body = json.loads(offer.body)
        assert set(body) == {"type", "timestamp", "data"}
        assert body["type"] == "lead.offered"
        assert body["data"] == {
            "lead_id": "lead-1",
            "need": "installation",
            "region": "south",
            "customer": {"name": "Zoë Client", "phone": None, "email": "zoe@example.com"},
            "warmth": {"notes": "measured the windows already", "score": 5},
            "source_partner": {"id": SHOP.id, "name": "shop Ltd"},
            "manager": {"id": "mgr-1", "name": "Ann"},
            "accept_by": routed.accept_by.isoformat().replace("+00:00", "Z"),
        }

        async def duplicates_consumed() -> bool:
            async with db.sessionmaker() as session:
                ids = set(await session.scalars(select(processed_events.c.event_id)))
            return again.id in ids

        await eventually(duplicates_consumed)
        [seen] = await deliveries(http, SOUTH.key, "lead-1")
        assert seen["status"] == "delivered"
        assert seen["webhook_id"] == delivered.webhook_id
        assert seen["attempt_count"] == 1
        assert seen["next_attempt_at"] is None
        assert seen["delivered_at"] is not None
        [attempt] = seen["attempts"]
        latency = datetime.fromisoformat(attempt["at"]) - datetime.fromisoformat(seen["created_at"])
        assert latency < timedelta(seconds=10)
        assert attempt["url"] == f"{hooks_url}/hooks/south"
        assert (attempt["status_code"], attempt["error"]) == (204, None)
        assert len(receiver.requests["south"]) == 1
        # Partners see only deliveries addressed to them; the operator sees all.
        assert await deliveries(http, NORTH.key, "lead-1") == []
        assert [d["id"] for d in await deliveries(http, ADMIN_TOKEN, "lead-1")] == [seen["id"]]


async def test_failing_endpoint_is_retried_under_one_webhook_id_and_then_given_up(
    broker: LocalBroker, database_url: str
) -> None:
    async with (
        webhook_receiver() as (receiver, hooks_url),
        running_router(database_url, broker, webhook_max_attempts=3) as (http, db),
    ):
        await set_up_partners(broker, db)
        south = await register_endpoint(http, SOUTH, f"{hooks_url}/hooks/south")
        receiver.failures["south"] = 2
        # fitter-north registers no endpoint at all.
        await publish(
            broker, lead("lead-s", SHOP.id, region="south"), lead("lead-n", SHOP.id, "north")
        )

        def finished(evs: list[Envelope]) -> bool:
            return bool(of_type(evs, LeadDelivered, "lead-s")) and bool(
                of_type(evs, LeadDeliveryFailed, "lead-n")
            )

        events = await read_until(broker, Topic.LEADS, finished)
        [delivered] = of_type(events, LeadDelivered, "lead-s")
        assert delivered.attempts == 3
        tries = receiver.requests["south"]
        assert [t.headers["webhook-id"] for t in tries] == [delivered.webhook_id] * 3
        assert len({t.body for t in tries}) == 1
        for attempt in tries:
            Webhook(south["secret"]).verify(attempt.body, attempt.headers)
        [seen] = await deliveries(http, SOUTH.key, "lead-s")
        assert (seen["status"], seen["attempt_count"]) == ("delivered", 3)
        assert [a["status_code"] for a in seen["attempts"]] == [500, 500, 204]

        [failed] = of_type(events, LeadDeliveryFailed, "lead-n")
        assert (failed.target_partner_id, failed.attempts) == (NORTH.id, 3)
        assert failed.last_error == f"partner {NORTH.id} has no active webhook endpoint"
        [gave_up] = await deliveries(http, NORTH.key, "lead-n")
        assert (gave_up["status"], gave_up["next_attempt_at"]) == ("failed", None)
        assert [a["error"] for a in gave_up["attempts"]] == [failed.last_error] * 3
        assert [a["url"] for a in gave_up["attempts"]] == [None] * 3


async def test_a_lead_nobody_accepts_in_time_expires_and_its_retries_stop(
    broker: LocalBroker, database_url: str
) -> None:
    async with (
        webhook_receiver() as (receiver, hooks_url),
        running_router(
            database_url, broker, webhook_backoff_seconds=(0.3,), webhook_max_attempts=1000
        ) as (http, db),
    ):
        await set_up_partners(broker, db, north_accept=3, south_accept=6)
        await register_endpoint(http, NORTH, f"{hooks_url}/hooks/north")
        await register_endpoint(http, SOUTH, f"{hooks_url}/hooks/south")
        receiver.failures["south"] = 10_000  # south's endpoint is down: retries pile up
        await publish(
            broker,
            lead("lead-taken", SHOP.id, region="north"),
            lead("lead-declined", SHOP.id, region="north"),
            lead("lead-left", SHOP.id, region="south"),
            lead("lead-nowhere", SHOP.id, region="west"),
        )
        await eventually(lambda: len(receiver.requests["north"]) == 2)
        await publish(
            broker,
            LeadAccepted(lead_id="lead-taken", partner_id=NORTH.id),
            LeadRejected(lead_id="lead-declined", partner_id=NORTH.id, reason="booked up"),
        )

        events = await read_until(
            broker, Topic.LEADS, lambda evs: bool(of_type(evs, LeadExpired, "lead-left"))
        )
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
            seen = await deliveries(http, SOUTH.key, "lead-left")
            [offer] = [d for d in seen if d["kind"] == "offer"]
            return offer if offer["status"] == "cancelled" else None

        cancelled = await eventually(called_off)
        assert cancelled["next_attempt_at"] is None
        assert cancelled["attempt_count"] >= 2
        # The expired offer is withdrawn (by webhook, retried like any other); nobody else
        # serves the south, so the lead is unroutable after its one hop.
        kinds = [d["kind"] for d in await deliveries(http, SOUTH.key, "lead-left")]
        assert sorted(kinds) == ["offer", "withdrawal"]
        [unroutable] = of_type(
            await read_until(
                broker, Topic.LEADS, lambda evs: bool(of_type(evs, LeadUnroutable, "lead-left"))
            ),
            LeadUnroutable,
            "lead-left",
        )
        assert unroutable.reason == "every partner that could take the lead has had it"
        [taken] = await deliveries(http, NORTH.key, "lead-taken")
        assert taken["status"] == "delivered"


async def test_an_agreement_published_just_before_a_lead_is_applied_first(
    database_url: str, broker: LocalBroker
) -> None:
    """Both arrive in the router's first fetch; the lead must not be judged unroutable."""
    shop, fitter = partner("shop", "berlin"), partner("fitter", "berlin")
    await ensure_topics(broker.bootstrap_servers, partitions=2)
    await publish(broker, shop.registered(), fitter.registered())
    await publish(broker, agreement("agr-late", "shop", "fitter"))
    await publish(broker, lead("lead-race", "shop", "berlin"))
    async with running_router(database_url, broker):
        events = await read_until(
            broker,
            Topic.LEADS,
            lambda seen: bool(
                of_type(seen, LeadRouted, "lead-race") or of_type(seen, LeadUnroutable, "lead-race")
            ),
        )
    assert of_type(events, LeadUnroutable, "lead-race") == []
    [routed] = of_type(events, LeadRouted, "lead-race")
    assert routed.target_partner_id == "fitter"
