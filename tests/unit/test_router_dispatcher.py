"""One webhook attempt against ``httpx.MockTransport``: what is sent, and how each kind of
failure is reported."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from standardwebhooks import Webhook

from crosslead_common.db import Database
from crosslead_router.delivery import Job
from crosslead_router.dispatcher import Dispatcher
from crosslead_router.settings import RouterSettings
from crosslead_router.signing import new_secret

SECRET = new_secret()
BODY = '{"type":"lead.offered","data":{"lead_id":"lead_1"}}'


def job(url: str | None = "http://93.184.216.34:8080/hooks") -> Job:
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
        admin_token="x" * 20, database_url=db.url, webhook_timeout_seconds=0.5
    )
    yield Dispatcher(db, settings)
    await db.dispose()


def client(handler: httpx.MockTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=handler)


async def test_sends_the_stored_body_signed_to_the_pinned_address(dispatcher: Dispatcher) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async with client(httpx.MockTransport(answer)) as http:
        outcome = await dispatcher.send(http, job())
    assert outcome.status_code == 204
    assert outcome.ok
    assert outcome.error is None
    assert outcome.url == "http://93.184.216.34:8080/hooks"
    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == "http://93.184.216.34:8080/hooks"
    assert request.headers["host"] == "93.184.216.34:8080"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == "msg_abc"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 5
    assert request.content == BODY.encode()
    Webhook(SECRET).verify(request.content, dict(request.headers))


async def test_a_non_2xx_answer_is_a_failed_attempt(dispatcher: Dispatcher) -> None:
    async with client(httpx.MockTransport(lambda r: httpx.Response(503))) as http:
        outcome = await dispatcher.send(http, job())
    assert not outcome.ok
    assert outcome.describe() == "the endpoint answered HTTP 503"


async def test_a_connection_error_is_reported(dispatcher: Dispatcher) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with client(httpx.MockTransport(refuse)) as http:
        outcome = await dispatcher.send(http, job())
    assert outcome.status_code is None
    assert outcome.error == "ConnectError: connection refused"


async def test_no_endpoint_and_a_private_url_fail_without_sending(dispatcher: Dispatcher) -> None:
    def must_not_send(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing should be sent")

    async with client(httpx.MockTransport(must_not_send)) as http:
        missing = await dispatcher.send(http, job(url=None))
        private = await dispatcher.send(http, job(url="http://127.0.0.1:9/hooks"))
    assert missing.error == "partner installer has no active webhook endpoint"
    assert private.error is not None
    assert private.error.startswith("refused to call the URL")
    assert "127.0.0.1" in private.error


async def test_an_endpoint_slower_than_the_timeout_is_cut_off(dispatcher: Dispatcher) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    started = time.monotonic()
    async with client(httpx.MockTransport(slow)) as http:
        outcome = await dispatcher.send(http, job())
    assert time.monotonic() - started < 2
    assert outcome.error == "no answer within 0.5s"
    assert 400 <= outcome.duration_ms < 2000
