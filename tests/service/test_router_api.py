"""The router's HTTP API with the SSRF guard on (as in production): webhook endpoints, who may
see and delete what, validation errors, and the guard at delivery time (the real webhook
dispatcher, no broker)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from crosslead_common.db import Database
from crosslead_router import endpoints, routing, service
from crosslead_router.dispatcher import Dispatcher
from tests.support import ADMIN_TOKEN, bearer, eventually
from tests.support.router import PartnerSpec, agreement, lead, partner
from tests.support.services import in_process, running, settings_for
from tests.support.webhooks import webhook_receiver

pytestmark = pytest.mark.schema("router")


SHOP = partner("shop", "north")
FITTER = partner("fitter", "north")
PUBLIC_URL = "https://93.184.216.34/hooks/crosslead"  # an IP literal: no DNS needed


async def know_partners(db: Database, *partners: PartnerSpec) -> None:
    """Put partners into the router's projection as the consumer would."""
    async with db.transaction() as session:
        for each in partners:
            await service.record_partner(session, each.registered(), at=datetime.now(UTC))


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert field in [e["field"] for e in response.json()["errors"]], response.json()


@pytest.fixture
async def router(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    async with in_process("router", database_url, webhook_allow_private=False) as running:
        await know_partners(running.db, SHOP, FITTER)
        yield running.client, running.db


@pytest.mark.sqlite_only
async def test_endpoints_belong_to_their_partner(
    router: tuple[httpx.AsyncClient, Database],
) -> None:
    http, _ = router
    created = await http.post(
        "/v1/webhook-endpoints",
        headers=bearer(FITTER.key),
        json={"url": PUBLIC_URL, "description": "CRM intake"},
    )
    assert created.status_code == 201, created.text
    endpoint = created.json()
    secret = endpoint.pop("secret")
    assert secret.startswith("whsec_")
    assert set(endpoint) == {
        "id",
        "url",
        "description",
        "status",
        "disabled_reason",
        "event_types",
        "created_at",
    }
    assert (endpoint["url"], endpoint["description"]) == (PUBLIC_URL, "CRM intake")
    assert (endpoint["status"], endpoint["disabled_reason"]) == ("enabled", None)
    assert "lead.offered" in endpoint["event_types"]

    # Lists never show secrets; the endpoint's own partner (and the operator) can fetch it.
    mine = await http.get("/v1/webhook-endpoints", headers=bearer(FITTER.key))
    assert mine.json() == {"items": [endpoint]}
    path = f"/v1/webhook-endpoints/{endpoint['id']}"
    for who in (FITTER.key, ADMIN_TOKEN):
        got = await http.get(f"{path}/secret", headers=bearer(who))
        assert got.json() == {"secret": secret}
    assert_problem(await http.get(f"{path}/secret", headers=bearer(SHOP.key)), 404)
    everyone = await http.get("/v1/webhook-endpoints", headers=bearer(ADMIN_TOKEN))
    assert everyone.json() == {"items": [endpoint]}
    theirs = await http.get("/v1/webhook-endpoints", headers=bearer(SHOP.key))
    assert theirs.json() == {"items": []}

    assert_problem(await http.delete(path, headers=bearer(SHOP.key)), 404)
    assert (await http.delete(path, headers=bearer(FITTER.key))).status_code == 204
    assert_problem(await http.delete(path, headers=bearer(FITTER.key)), 404)
    after = await http.get("/v1/webhook-endpoints", headers=bearer(FITTER.key))
    assert after.json() == {"items": []}


REFUSED_URLS = [
    "http://127.0.0.1:8080/hooks",
    "http://localhost/hooks",
    "http://10.1.2.3/hooks",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/hooks",
    "ftp://93.184.216.34/hooks",
    "not a url",
]


@pytest.mark.sqlite_only
async def test_urls_that_reach_inside_or_are_not_http_are_refused(
    router: tuple[httpx.AsyncClient, Database],
) -> None:
    http, _ = router
    for url in REFUSED_URLS:
        response = await http.post(
            "/v1/webhook-endpoints", headers=bearer(FITTER.key), json={"url": url}
        )
        assert_problem(response, 422, field="url")
    listed = await http.get("/v1/webhook-endpoints", headers=bearer(FITTER.key))
    assert listed.json() == {"items": []}


@pytest.mark.sqlite_only
async def test_bad_requests_are_problems_naming_the_field(
    router: tuple[httpx.AsyncClient, Database],
) -> None:
    http, _ = router
    post = "/v1/webhook-endpoints"
    assert_problem(await http.post(post, json={"url": PUBLIC_URL}), 401)
    assert_problem(
        await http.post(post, headers=bearer("clk_unknown"), json={"url": PUBLIC_URL}), 401
    )
    assert_problem(
        await http.post(post, headers=bearer(ADMIN_TOKEN), json={"url": PUBLIC_URL}), 403
    )
    key = bearer(FITTER.key)
    assert_problem(await http.post(post, headers=key, json={}), 422, field="url")
    assert_problem(
        await http.post(post, headers=key, json={"url": PUBLIC_URL, "secret": "mine"}),
        422,
        field="secret",
    )
    assert_problem(
        await http.post(post, headers=key, json={"url": PUBLIC_URL, "description": "x" * 501}),
        422,
        field="description",
    )
    assert_problem(await http.post(post, headers=key, content=b"{not json"), 422)
    assert_problem(await http.get("/v1/deliveries?limit=0", headers=key), 422, field="limit")
    assert_problem(await http.get("/v1/deliveries"), 401)


@pytest.mark.sqlite_only
async def test_an_endpoint_that_now_resolves_inside_is_refused_at_delivery_time(
    router: tuple[httpx.AsyncClient, Database], database_url: str
) -> None:
    http, db = router
    settings = settings_for("router", database_url, webhook_allow_private=False)
    async with webhook_receiver() as (receiver, hooks_url), running(Dispatcher(db, settings).run):
        # Saved before the check existed, or its DNS changed since: it now points inside.
        async with db.transaction() as session:
            await endpoints.create(session, FITTER.id, f"{hooks_url}/hooks/fitter", None)
            await service.record_agreement(
                session, agreement("agr-1", SHOP.id, FITTER.id), at=datetime.now(UTC)
            )
        async with db.transaction() as session:
            await routing.route_lead(session, lead("lead-1", SHOP.id, region="north"))

        async def attempts() -> list[dict[str, Any]] | None:
            response = await http.get(
                "/v1/deliveries", params={"lead_id": "lead-1"}, headers=bearer(FITTER.key)
            )
            [delivery] = response.json()["items"]
            return delivery["attempts"] or None

        [first, *_] = await eventually(attempts)
        assert first["status_code"] is None
        assert first["url"] == f"{hooks_url}/hooks/fitter"
        # Generic to the partner: which inside address its host reaches is in the operator's log.
        assert first["error"] == (
            "refused to call the URL: host '127.0.0.1' does not resolve to a public address"
        )
        assert receiver.requests["fitter"] == []


async def test_endpoint_health_counts_failed_attempts_per_endpoint(database_url: str) -> None:
    """The aggregate behind the operator's webhook health page (counted in SQL, so it runs on
    every backend): attempts and failures since a time, the newest failure, open deliveries."""
    # Retries an hour apart: the failing endpoint's test event stays pending after one attempt.
    overrides: dict[str, Any] = {"webhook_allow_private": True, "webhook_backoff_seconds": (3600,)}
    async with (
        in_process("router", database_url, **overrides) as router,
        webhook_receiver() as (receiver, hooks_url),
    ):
        http, db = router.client, router.db
        await know_partners(db, SHOP, FITTER)
        settings = settings_for("router", database_url, **overrides)
        receiver.failures["shop"] = 1000
        ids = {}
        for who, name in ((FITTER, "fitter"), (SHOP, "shop")):
            created = await http.post(
                "/v1/webhook-endpoints",
                headers=bearer(who.key),
                json={"url": f"{hooks_url}/hooks/{name}"},
            )
            ids[name] = created.json()["id"]
            sent = await http.post(
                f"/v1/webhook-endpoints/{ids[name]}/test", headers=bearer(who.key)
            )
            assert sent.status_code == 202, sent.text

        async def health(token: str, **params: str) -> dict[str, Any]:
            response = await http.get(
                "/v1/webhook-endpoints/health", params=params, headers=bearer(token)
            )
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        async def both_tried() -> dict[str, dict[str, Any]] | None:
            """Once each attempt and what it changed (delivered; failing) are recorded."""
            items = {i["id"]: i for i in (await health(ADMIN_TOKEN))["items"]}
            good, bad = items[ids["fitter"]], items[ids["shop"]]
            done = good["pending_deliveries"] == 0 and good["attempts"] >= 1
            failed = bad["failing_since"] is not None and bad["failed_attempts"] >= 1
            return items if done and failed else None

        async with running(Dispatcher(db, settings).run):
            everyone = await eventually(both_tried)
        good, bad = everyone[ids["fitter"]], everyone[ids["shop"]]
        assert (good["partner_id"], good["attempts"], good["failed_attempts"]) == (FITTER.id, 1, 0)
        assert good["last_success_at"] is not None
        assert good["last_failure_at"] is None
        assert (good["pending_deliveries"], good["failed_deliveries"]) == (0, 0)
        assert (bad["partner_id"], bad["attempts"], bad["failed_attempts"]) == (SHOP.id, 1, 1)
        assert (bad["last_failure_status_code"], bad["last_success_at"]) == (500, None)
        assert bad["failing_since"] is not None
        assert bad["last_failure_at"] is not None
        assert (bad["pending_deliveries"], bad["failed_deliveries"]) == (1, 0)
        assert "secret" not in bad
        # The most failed attempts first; unhealthy=true leaves out the healthy one.
        first, *_ = (await health(ADMIN_TOKEN))["items"]
        assert first["id"] == ids["shop"]
        unhealthy = await health(ADMIN_TOKEN, unhealthy="true")
        assert [i["id"] for i in unhealthy["items"]] == [ids["shop"]]
        # A window that starts after the attempts counts none of them.
        later = (datetime.now(UTC) + timedelta(milliseconds=1)).isoformat()
        quiet = {i["id"]: i for i in (await health(ADMIN_TOKEN, since=later))["items"]}
        assert quiet[ids["fitter"]]["attempts"] == quiet[ids["shop"]]["attempts"] == 0
        assert quiet[ids["shop"]]["pending_deliveries"] == 1

        # A partner sees only its own; disabling one by hand makes it unhealthy.
        assert [i["id"] for i in (await health(FITTER.key))["items"]] == [ids["fitter"]]
        assert (await health(FITTER.key, unhealthy="true"))["items"] == []
        patched = await http.patch(
            f"/v1/webhook-endpoints/{ids['fitter']}",
            headers=bearer(FITTER.key),
            json={"status": "disabled"},
        )
        assert patched.status_code == 200, patched.text
        [disabled] = (await health(FITTER.key, unhealthy="true"))["items"]
        assert (disabled["status"], disabled["disabled_reason"]) == ("disabled", "manual")

        # Bad windows are refused naming the field; no token is a 401.
        path = "/v1/webhook-endpoints/health"
        for since in (
            (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            (datetime.now(UTC) - timedelta(days=15)).isoformat(),
            "yesterday",
            "2026-12-01T10:00:00",
        ):
            response = await http.get(path, params={"since": since}, headers=bearer(SHOP.key))
            assert_problem(response, 422, field="since")
        assert_problem(await http.get(path), 401)
