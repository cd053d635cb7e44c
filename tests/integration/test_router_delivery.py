"""The router on the real broker and databases: a lead consumed (also redelivered, and
re-published under a new event id) is offered once as a signed webhook to a real receiver and
the events it publishes reach the topic; an agreement fetched in the same batch as a lead is
applied first."""

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
    LeadDelivered,
    LeadRouted,
    LeadUnroutable,
    Topic,
)
from crosslead_common.kafka import ensure_topics
from crosslead_local.localstack import LocalBroker
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
