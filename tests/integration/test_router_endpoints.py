"""Managing webhook endpoints on the real stack: secret rotation with two signatures, test
events, retrying a delivery now, recovering failed ones, event-type filters and paging, each
checked by a receiver that verifies with the ``standardwebhooks`` library."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from crosslead_common.db import Database
from crosslead_common.events import LeadDelivered, LeadRouted, Topic, WebhookEndpointDisabled
from crosslead_local.localstack import LocalBroker
from tests.support import ADMIN_TOKEN, bearer, eventually
from tests.support.kafka import publish, read_until
from tests.support.router import agreement, lead, of_type, partner, projection_size, running_router
from tests.support.webhooks import webhook_receiver

pytestmark = pytest.mark.schema("router")

SHOP = partner("shop", "north")
FITTER = partner("fitter", "north")


async def set_up(broker: LocalBroker, db: Database) -> None:
    await publish(
        broker, SHOP.registered(), FITTER.registered(), agreement("agr", SHOP.id, FITTER.id)
    )

    async def known() -> bool:
        return await projection_size(db) == (2, 1)

    await eventually(known)


async def create(http: httpx.AsyncClient, url: str, **fields: Any) -> dict[str, Any]:
    response = await http.post(
        "/v1/webhook-endpoints", headers=bearer(FITTER.key), json={"url": url, **fields}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def listed(http: httpx.AsyncClient, token: str, **params: str) -> dict[str, Any]:
    response = await http.get("/v1/deliveries", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def ended(http: httpx.AsyncClient, delivery_id: str, status: str) -> dict[str, Any]:
    """The delivery once it has ``status`` (the caller is the fitter)."""

    async def probe() -> dict[str, Any] | None:
        for item in (await listed(http, FITTER.key, limit="200"))["items"]:
            if item["id"] == delivery_id and item["status"] == status:
                found: dict[str, Any] = item
                return found
        return None

    return await eventually(probe)


async def send_test(
    http: httpx.AsyncClient, endpoint_id: str, token: str = FITTER.key, trace_id: str | None = None
) -> str:
    headers = bearer(token)
    if trace_id is not None:
        headers["traceparent"] = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    response = await http.post(f"/v1/webhook-endpoints/{endpoint_id}/test", headers=headers)
    assert response.status_code == 202, response.text
    delivery_id: str = response.json()["delivery_id"]
    return delivery_id


def verifies(secret: str, request: Any) -> bool:
    try:
        Webhook(secret).verify(request.body, request.headers)
    except WebhookVerificationError:
        return False
    return True


async def test_rotation_signs_with_both_secrets_during_the_overlap_and_then_only_the_new(
    broker: LocalBroker, database_url: str
) -> None:
    async with (
        webhook_receiver() as (receiver, hooks_url),
        running_router(database_url, broker) as (http, db),
    ):
        await set_up(broker, db)
        endpoint = await create(http, f"{hooks_url}/hooks/fitter")
        old = endpoint["secret"]
        path = f"/v1/webhook-endpoints/{endpoint['id']}"
        rotated = await http.post(
            f"{path}/rotate-secret",
            headers=bearer(FITTER.key),
            json={"previous_valid_for_seconds": 2},
        )
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert new.startswith("whsec_")
        assert new != old
        fetched = await http.get(f"{path}/secret", headers=bearer(FITTER.key))
        assert fetched.json() == {"secret": new}

        await ended(http, await send_test(http, endpoint["id"]), "delivered")
        [during] = receiver.requests["fitter"]
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        assert verifies(old, during)
        assert verifies(new, during)

        await asyncio.sleep(2.1)
        await ended(http, await send_test(http, endpoint["id"]), "delivered")
        [_, after] = receiver.requests["fitter"]
        assert verifies(new, after)
        assert not verifies(old, after)


async def test_test_event_filters_and_cursor_paging(broker: LocalBroker, database_url: str) -> None:
    async with (
        webhook_receiver() as (receiver, hooks_url),
        running_router(database_url, broker) as (http, db),
    ):
        await set_up(broker, db)
        endpoint = await create(http, f"{hooks_url}/hooks/fitter", description="CRM")
        trace_id = secrets.token_hex(16)
        sent = [await send_test(http, endpoint["id"], trace_id=trace_id)]
        sent.append(await send_test(http, endpoint["id"]))
        sent.append(await send_test(http, endpoint["id"], token=ADMIN_TOKEN))
        for delivery_id in sent:
            seen = await ended(http, delivery_id, "delivered")
            assert (seen["kind"], seen["lead_id"]) == ("test", None)
            assert seen["endpoint_id"] == endpoint["id"]
        tests = receiver.requests["fitter"]
        assert len(tests) == 3
        # The test webhook continues the trace of the request that asked for it.
        traced = [
            r for r in tests if r.headers.get("traceparent", "").startswith(f"00-{trace_id}-")
        ]
        assert len(traced) == 1
        for request in tests:
            body = Webhook(endpoint["secret"]).verify(request.body, request.headers)
            assert body["type"] == "webhook.test"
            assert body["data"] == {"endpoint_id": endpoint["id"]}

        first = await listed(http, FITTER.key, endpoint_id=endpoint["id"], limit="2")
        assert first["next_cursor"] is not None
        second = await listed(
            http, FITTER.key, endpoint_id=endpoint["id"], limit="2", cursor=first["next_cursor"]
        )
        assert second["next_cursor"] is None
        pages = [d["id"] for d in first["items"] + second["items"]]
        assert sorted(pages) == sorted(sent)
        assert (await listed(http, FITTER.key, status="failed"))["items"] == []
        assert (await listed(http, SHOP.key, endpoint_id=endpoint["id"]))["items"] == []
        assert len((await listed(http, ADMIN_TOKEN, status="delivered"))["items"]) == 3


async def test_retry_now_and_recover_after_failed_keep_the_webhook_id(
    broker: LocalBroker, database_url: str
) -> None:
    async with (
        webhook_receiver() as (receiver, hooks_url),
        # After a failure the next attempt is an hour away, and the second failure is the last.
        running_router(
            database_url, broker, webhook_backoff_seconds=(3600,), webhook_max_attempts=2
        ) as (http, db),
    ):
        await set_up(broker, db)
        endpoint = await create(http, f"{hooks_url}/hooks/fitter")
        receiver.failures["fitter"] = 2
        await publish(broker, lead("lead-1", SHOP.id, "north"))
        await eventually(lambda: len(receiver.requests["fitter"]) == 1)
        [offer] = (await listed(http, FITTER.key, lead_id="lead-1"))["items"]

        # Retry now: the second (and last allowed) attempt fails too, and it is failed.
        retried = await http.post(f"/v1/deliveries/{offer['id']}/retry", headers=bearer(SHOP.key))
        assert retried.status_code == 404
        retried = await http.post(f"/v1/deliveries/{offer['id']}/retry", headers=bearer(FITTER.key))
        assert retried.status_code == 202, retried.text
        failed = await ended(http, offer["id"], "failed")
        assert [a["status_code"] for a in failed["attempts"]] == [500, 500]

        # The receiver is fixed; recovering since an hour ago sends it again, under its id.
        path = f"/v1/webhook-endpoints/{endpoint['id']}/recover"
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        assert_422 = await http.post(path, headers=bearer(SHOP.key), json={"since": since})
        assert assert_422.status_code == 404
        recovered = await http.post(path, headers=bearer(FITTER.key), json={"since": since})
        assert recovered.status_code == 202, recovered.text
        assert recovered.json() == {"count": 1}
        delivered = await ended(http, offer["id"], "delivered")
        assert [a["status_code"] for a in delivered["attempts"]] == [500, 500, 204]
        tries = receiver.requests["fitter"]
        assert {t.headers["webhook-id"] for t in tries} == {offer["webhook_id"]}
        assert all(verifies(endpoint["secret"], t) for t in tries)
        events = await read_until(
            broker, Topic.LEADS, lambda evs: bool(of_type(evs, LeadDelivered, "lead-1"))
        )
        [news] = of_type(events, LeadDelivered, "lead-1")
        assert news.webhook_id == offer["webhook_id"]
        again = await http.post(f"/v1/deliveries/{offer['id']}/retry", headers=bearer(FITTER.key))
        assert again.status_code == 409


async def test_an_endpoint_gets_only_its_event_types_and_a_disabled_one_nothing(
    broker: LocalBroker, database_url: str
) -> None:
    async with (
        webhook_receiver() as (receiver, hooks_url),
        running_router(database_url, broker) as (http, db),
    ):
        await set_up(broker, db)
        offers = await create(http, f"{hooks_url}/hooks/offers", event_types=["lead.offered"])
        tests = await create(http, f"{hooks_url}/hooks/tests", event_types=["webhook.test"])
        await publish(broker, lead("lead-1", SHOP.id, "north"))
        await eventually(lambda: len(receiver.requests["offers"]) == 1)
        assert json.loads(receiver.requests["offers"][0].body)["type"] == "lead.offered"
        assert receiver.requests["tests"] == []

        # Disabled by hand: offers go nowhere until it is enabled again.
        path = f"/v1/webhook-endpoints/{offers['id']}"
        patched = await http.patch(
            path, headers=bearer(FITTER.key), json={"status": "disabled", "description": "off"}
        )
        assert patched.status_code == 200, patched.text
        assert (patched.json()["status"], patched.json()["disabled_reason"]) == (
            "disabled",
            "manual",
        )
        assert patched.json()["description"] == "off"
        assert patched.json()["event_types"] == ["lead.offered"]
        enabled = await http.patch(path, headers=bearer(ADMIN_TOKEN), json={"status": "enabled"})
        assert (enabled.json()["status"], enabled.json()["disabled_reason"]) == ("enabled", None)
        everything = await http.patch(
            f"/v1/webhook-endpoints/{tests['id']}",
            headers=bearer(FITTER.key),
            json={"event_types": None},
        )
        assert "lead.offered" in everything.json()["event_types"]


BAD_INPUT = [
    ("patch", "", {"event_types": ["lead.eaten"]}, "event_types"),
    ("patch", "", {"event_types": []}, "event_types"),
    ("patch", "", {"status": "paused"}, "status"),
    ("patch", "", {"status": None}, "status"),
    ("patch", "", {"url": "http://10.0.0.1/hooks"}, "url"),
    ("patch", "", {"secret": "mine"}, "secret"),
    ("post", "/rotate-secret", {"previous_valid_for_seconds": 7 * 86400 + 1}, None),
    ("post", "/rotate-secret", {"previous_valid_for_seconds": -1}, None),
    ("post", "/recover", {"since": "2020-01-01T00:00:00Z"}, "since"),
    ("post", "/recover", {"since": "2999-01-01T00:00:00Z"}, "since"),
    ("post", "/recover", {"since": "yesterday"}, "since"),
    ("post", "/recover", {}, "since"),
]


async def test_bad_input_is_a_problem_naming_the_field_and_changes_nothing(
    broker: LocalBroker, database_url: str
) -> None:
    async with running_router(database_url, broker, webhook_allow_private=False) as (http, db):
        await set_up(broker, db)
        endpoint = await create(http, "https://93.184.216.34/hooks")
        secret = endpoint.pop("secret")
        for method, suffix, body, field in BAD_INPUT:
            path = f"/v1/webhook-endpoints/{endpoint['id']}{suffix}"
            response = await http.request(method, path, headers=bearer(FITTER.key), json=body)
            assert response.status_code == 422, (body, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            names = [e["field"] for e in response.json()["errors"]]
            assert (field or "previous_valid_for_seconds") in names, (body, names)
        after = await http.get("/v1/webhook-endpoints", headers=bearer(FITTER.key))
        assert after.json() == {"items": [endpoint]}
        kept = await http.get(
            f"/v1/webhook-endpoints/{endpoint['id']}/secret", headers=bearer(FITTER.key)
        )
        assert kept.json() == {"secret": secret}
        assert (await listed(http, FITTER.key))["items"] == []
        for params in ({"status": "lost"}, {"cursor": "not-a-cursor"}, {"limit": "201"}):
            response = await http.get("/v1/deliveries", params=params, headers=bearer(FITTER.key))
            assert response.status_code == 422, response.text
            assert [*params] == [e["field"] for e in response.json()["errors"]]


async def test_another_partners_endpoint_or_delivery_is_not_found(
    broker: LocalBroker, database_url: str
) -> None:
    async with running_router(database_url, broker) as (http, db):
        await set_up(broker, db)
        endpoint = await create(http, "http://127.0.0.1:9/hooks")
        delivery_id = await send_test(http, endpoint["id"])
        base = f"/v1/webhook-endpoints/{endpoint['id']}"
        since = {"since": datetime.now(UTC).isoformat()}
        calls = [
            ("get", f"{base}/secret", None),
            ("patch", base, {"description": "mine now"}),
            ("post", f"{base}/rotate-secret", {}),
            ("post", f"{base}/test", None),
            ("post", f"{base}/recover", since),
            ("delete", base, None),
            ("post", f"/v1/deliveries/{delivery_id}/retry", None),
            ("get", "/v1/webhook-endpoints/we_unknown/secret", None),
            ("post", "/v1/deliveries/dlv_unknown/retry", None),
        ]
        for method, path, body in calls:
            response = await http.request(method, path, headers=bearer(SHOP.key), json=body)
            assert response.status_code == 404, (method, path, response.text)
        listed_ = await http.get("/v1/webhook-endpoints", headers=bearer(SHOP.key))
        assert listed_.json() == {"items": []}
        mine = await http.get(f"{base}/secret", headers=bearer(FITTER.key))
        assert mine.json() == {"secret": endpoint["secret"]}


async def test_an_endpoint_failing_for_the_set_time_is_disabled_and_its_partner_left_out(
    broker: LocalBroker, database_url: str
) -> None:
    other = partner("other", "north")
    async with (
        webhook_receiver() as (receiver, hooks_url),
        running_router(
            database_url,
            broker,
            endpoint_disable_after_seconds=1,
            webhook_backoff_seconds=(0.2,),
            webhook_max_attempts=1000,
            # The breaker opens after 5 failures; its probes keep finding the endpoint down.
            webhook_breaker_cooldown_seconds=0.3,
        ) as (http, db),
    ):
        await set_up(broker, db)
        endpoint = await create(http, f"{hooks_url}/hooks/fitter")
        receiver.failures["fitter"] = 1_000_000
        await publish(broker, lead("lead-1", SHOP.id, "north"))

        disabled = await read_until(
            broker,
            Topic.PARTNERS,
            lambda evs: any(e.type == WebhookEndpointDisabled.event_type for e in evs),
        )
        [event] = [e.payload() for e in disabled if e.type == WebhookEndpointDisabled.event_type]
        assert isinstance(event, WebhookEndpointDisabled)
        assert (event.partner_id, event.endpoint_id, event.reason) == (
            FITTER.id,
            endpoint["id"],
            "failing",
        )
        [shown] = (await http.get("/v1/webhook-endpoints", headers=bearer(FITTER.key))).json()[
            "items"
        ]
        assert (shown["status"], shown["disabled_reason"]) == ("disabled", "failing")
        # All its attempts failed for at least the set time before it was disabled.
        [offer] = (await listed(http, FITTER.key, lead_id="lead-1"))["items"]
        first = datetime.fromisoformat(offer["attempts"][0]["at"])
        assert event.failing_since == first
        # Every attempt at it failed; once it is disabled, the offer has nowhere to go.
        for attempt in offer["attempts"]:
            if attempt["url"] is None:
                assert attempt["error"] == f"partner {FITTER.id} has no active webhook endpoint"
            else:
                assert attempt["status_code"] == 500
        assert offer["attempts"][0]["status_code"] == 500

        # The next lead goes to another partner; the decision says why not to the fitter.
        await publish(broker, other.registered(), agreement("agr-other", SHOP.id, other.id))
        await create_for(http, other, f"{hooks_url}/hooks/other")
        await publish(broker, lead("lead-2", SHOP.id, "north"))
        events = await read_until(
            broker, Topic.LEADS, lambda evs: bool(of_type(evs, LeadRouted, "lead-2"))
        )
        [routed] = of_type(events, LeadRouted, "lead-2")
        assert routed.target_partner_id == other.id
        assert [(e.partner_id, e.reason) for e in routed.decision.excluded] == [
            (FITTER.id, "no_endpoint")
        ]

        # Enabled again (its receiver fixed): a candidate again at once.
        receiver.failures["fitter"] = 0
        enabled = await http.patch(
            f"/v1/webhook-endpoints/{endpoint['id']}",
            headers=bearer(FITTER.key),
            json={"status": "enabled"},
        )
        assert enabled.json()["status"] == "enabled"
        await publish(broker, lead("lead-3", SHOP.id, "north"))
        events = await read_until(
            broker, Topic.LEADS, lambda evs: bool(of_type(evs, LeadRouted, "lead-3"))
        )
        [routed] = of_type(events, LeadRouted, "lead-3")
        assert routed.decision.excluded == ()
        assert {c.partner_id for c in routed.decision.candidates} == {FITTER.id, other.id}


async def create_for(http: httpx.AsyncClient, who: Any, url: str) -> None:
    async def registered() -> bool:
        response = await http.post(
            "/v1/webhook-endpoints", headers=bearer(who.key), json={"url": url}
        )
        return response.status_code == 201

    await eventually(registered)  # once the router knows the partner (and so its key)
