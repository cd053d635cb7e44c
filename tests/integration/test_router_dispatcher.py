"""One webhook attempt against a real HTTP receiver: what is sent (signed, to the pinned
address with the URL's own host), and how each kind of failure is reported."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook

from crosslead_common.db import Database
from crosslead_local.localstack import free_port
from crosslead_router import dispatcher as dispatcher_module
from crosslead_router.delivery import Job
from crosslead_router.dispatcher import Dispatcher
from crosslead_router.settings import RouterSettings
from crosslead_router.signing import new_secret
from crosslead_router.urls import PinnedTarget, pin
from tests.support import CUSTOMER_DATA_KEY, SECRETS_KEY, serve

SECRET = new_secret()
BODY = '{"type":"lead.offered","data":{"lead_id":"lead_1"}}'


@dataclass
class Hooks:
    url: str
    seen: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    #: The client port of each request: one per connection.
    ports: list[int] = field(default_factory=list)


@pytest.fixture
async def hooks() -> AsyncIterator[Hooks]:
    app = FastAPI()
    found = Hooks("")

    @app.post("/{path:path}")
    async def hook(path: str, request: Request) -> Response:
        found.seen.append((path, dict(request.headers), await request.body()))
        found.ports.append(request.client.port if request.client else 0)
        if path == "slow":
            await asyncio.sleep(3)
        if path == "moved":
            return Response(status_code=307, headers={"location": "/elsewhere"})
        return Response(status_code=503 if path == "down" else 204)

    async with serve(app) as url:
        found.url = url
        yield found


def job(url: str | None) -> Job:
    return Job(
        delivery_id="dlv_1",
        lead_id="lead_1",
        partner_id="installer",
        webhook_id="msg_abc",
        body=BODY,
        attempt=1,
        url=url,
        secrets=(SECRET,) if url else (),
    )


@pytest.fixture
async def dispatcher() -> AsyncIterator[Dispatcher]:
    db = Database("sqlite+aiosqlite:///:memory:")
    settings = RouterSettings(
        admin_token="x" * 20,
        secrets_key=SECRETS_KEY,
        database_url=db.url,
        customer_data_key=CUSTOMER_DATA_KEY,
        webhook_timeout_seconds=0.5,
        webhook_allow_private=True,
    )
    yield Dispatcher(db, settings)
    await db.dispose()


async def test_sends_the_stored_body_signed(dispatcher: Dispatcher, hooks: Hooks) -> None:
    async with dispatcher.new_client() as http:
        outcome = await dispatcher.send(http, job(f"{hooks.url}/hooks"))
    assert (outcome.status_code, outcome.ok, outcome.error) == (204, True, None)
    assert outcome.url == f"{hooks.url}/hooks"
    [(path, headers, body)] = hooks.seen
    assert path == "hooks"
    assert headers["content-type"] == "application/json"
    assert headers["webhook-id"] == "msg_abc"
    assert headers["user-agent"] == "Crosslead-Webhooks/1"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    assert body == BODY.encode()
    Webhook(SECRET).verify(body, headers)


async def test_connects_to_the_checked_address_with_the_urls_own_host(
    dispatcher: Dispatcher, hooks: Hooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As when ``crm.example.com`` resolved to a public address that passed the check: the
    request goes to that address (here the local receiver's) with ``Host: crm.example.com``."""
    port = httpx.URL(hooks.url).port
    assert port is not None

    async def resolved(url: str, *, allow_private: bool) -> PinnedTarget:
        return pin(httpx.URL(url), ipaddress.ip_address("127.0.0.1"))

    monkeypatch.setattr(dispatcher_module, "check_url", resolved)
    async with dispatcher.new_client() as http:
        outcome = await dispatcher.send(http, job(f"http://crm.example.com:{port}/hooks"))
    assert outcome.status_code == 204
    [(_, headers, _)] = hooks.seen
    assert headers["host"] == f"crm.example.com:{port}"


async def test_a_connection_is_reused_for_its_own_host_only(
    dispatcher: Dispatcher, hooks: Hooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two hosts that both resolved to the same address (the receiver's): each gets its own
    connection, and the second request to one host reuses that host's."""
    port = httpx.URL(hooks.url).port
    assert port is not None

    async def resolved(url: str, *, allow_private: bool) -> PinnedTarget:
        return pin(httpx.URL(url), ipaddress.ip_address("127.0.0.1"))

    monkeypatch.setattr(dispatcher_module, "check_url", resolved)
    async with dispatcher.new_client() as http:
        for host in ("crm.example.com", "shop.example.com", "crm.example.com"):
            outcome = await dispatcher.send(http, job(f"http://{host}:{port}/hooks"))
            assert outcome.status_code == 204
    hosts = [headers["host"] for _, headers, _ in hooks.seen]
    assert hosts == [f"{h}.example.com:{port}" for h in ("crm", "shop", "crm")]
    crm, shop, crm_again = hooks.ports
    assert crm_again == crm
    assert shop != crm


async def test_a_non_2xx_answer_is_a_failed_attempt(dispatcher: Dispatcher, hooks: Hooks) -> None:
    async with dispatcher.new_client() as http:
        outcome = await dispatcher.send(http, job(f"{hooks.url}/down"))
    assert not outcome.ok
    assert outcome.describe() == "the endpoint answered HTTP 503"


async def test_a_redirect_is_not_followed(dispatcher: Dispatcher, hooks: Hooks) -> None:
    async with dispatcher.new_client() as http:
        outcome = await dispatcher.send(http, job(f"{hooks.url}/moved"))
    assert outcome.status_code == 307
    assert not outcome.ok
    assert [path for path, _, _ in hooks.seen] == ["moved"]


async def test_a_connection_error_is_reported(dispatcher: Dispatcher) -> None:
    async with dispatcher.new_client() as http:
        outcome = await dispatcher.send(http, job(f"http://127.0.0.1:{free_port()}/hooks"))
    assert outcome.status_code is None
    assert outcome.error is not None
    assert outcome.error.startswith("ClientConnectorError: Cannot connect to host 127.0.0.1")


async def test_no_endpoint_and_a_private_url_fail_without_sending(hooks: Hooks) -> None:
    db = Database("sqlite+aiosqlite:///:memory:")
    settings = RouterSettings(
        admin_token="x" * 20,
        database_url=db.url,
        customer_data_key=CUSTOMER_DATA_KEY,
        secrets_key=SECRETS_KEY,
    )
    guarded = Dispatcher(db, settings)
    async with guarded.new_client() as http:
        missing = await guarded.send(http, job(None))
        private = await guarded.send(http, job(f"{hooks.url}/hooks"))
    await db.dispose()
    assert missing.error == "partner installer has no active webhook endpoint"
    assert private.error is not None
    assert private.error.startswith("refused to call the URL")
    assert "127.0.0.1" in private.error
    assert hooks.seen == []


async def test_an_endpoint_slower_than_the_timeout_is_cut_off(
    dispatcher: Dispatcher, hooks: Hooks
) -> None:
    started = time.monotonic()
    async with dispatcher.new_client() as http:
        outcome = await dispatcher.send(http, job(f"{hooks.url}/slow"))
    assert time.monotonic() - started < 2
    assert outcome.error == "no answer within 0.5s"
    assert 400 <= outcome.duration_ms < 2000
