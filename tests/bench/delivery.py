"""``python -m tests.bench.delivery``: webhook deliveries per second of the router's dispatcher
alone (claim from the database, sign, POST, record the outcome), against a baseline measured in
the same run: a plain aiohttp client signing and posting the same bodies at the same
concurrency, without a database.

Both send to the same fast local receiver, a bare asyncio HTTP server in its own process that
answers every request 204. The dispatcher sends to 4 partners' endpoints with 4 requests in
flight each (16 in all, its default total); the baseline runs 16 workers. Also: the p50
latency of a healthy partner's deliveries, alone and beside a partner whose endpoint hangs and
holds 40 deliveries. SQLite (the embedded default). A plain httpx client (its former one)
is measured beside the aiohttp baseline, to tell the client's share from the bookkeeping's.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from sqlalchemy import func, select

from crosslead_common.db import Database, utcnow
from crosslead_common.migrations import upgrade
from crosslead_local.localstack import free_port, wait_for_port
from crosslead_router import endpoints, sealing
from crosslead_router.cli import MIGRATIONS
from crosslead_router.dispatcher import Dispatcher
from crosslead_router.models import Base, Delivery
from crosslead_router.signing import new_webhook_id, webhook_headers
from tests.support.services import settings_for

ENDPOINTS = 4
PER_ENDPOINT = 4
CONCURRENCY = ENDPOINTS * PER_ENDPOINT
DELIVERIES = 2000
ANSWER = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


def _serve(port: int, hang_path: bytes) -> None:
    """A minimal HTTP/1.1 server: 204 to everything (keep-alive); requests to ``hang_path``
    never get an answer."""

    class Answer(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            self.transport, self.buffer = transport, b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while b"\r\n\r\n" in self.buffer:
                head, _, rest = self.buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if len(rest) < length:
                    return
                self.buffer = rest[length:]
                if hang_path not in head.split(b"\r\n", 1)[0]:
                    self.transport.write(ANSWER)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Answer, "127.0.0.1", port)
        await server.serve_forever()

    asyncio.run(main())


@asynccontextmanager
async def receiver() -> AsyncIterator[str]:
    port = free_port()
    process = multiprocessing.Process(target=_serve, args=(port, b"/hang"), daemon=True)
    process.start()
    try:
        wait_for_port("127.0.0.1", port, timeout=10)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.join()


async def _delivered(db: Database) -> int:
    async with db.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status == "delivered")
        )
    return count or 0


async def _queue(db: Database, endpoint_ids: list[str], count: int) -> None:
    async with db.transaction() as session:
        for n in range(count):
            await endpoints.send_test(session, None, endpoint_ids[n % len(endpoint_ids)])


@asynccontextmanager
async def dispatching(url: str, hooks: str, **overrides: Any) -> AsyncIterator[Database]:
    """The dispatcher running on a fresh database (the broker is not needed for it)."""
    await upgrade(url, MIGRATIONS, Base.metadata)
    settings = settings_for(
        "router",
        url,
        webhook_concurrency=CONCURRENCY,
        webhook_concurrency_per_endpoint=PER_ENDPOINT,
        webhook_timeout_seconds=60,
        **overrides,
    )
    sealing.configure(settings.key_ring())  # as the router app does: secrets are sealed
    db = Database(url)
    task = asyncio.create_task(Dispatcher(db, settings).run())
    try:
        yield db
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await db.dispose()


async def dispatcher_rate(url: str, hooks: str) -> float:
    async with dispatching(url, hooks) as db:
        async with db.transaction() as session:
            ids = [
                (await endpoints.create(session, f"partner-{n}", f"{hooks}/hooks/{n}", None)).id
                for n in range(ENDPOINTS)
            ]
        await _queue(db, ids, DELIVERIES)
        started = time.perf_counter()
        db.wakeup("deliveries").set()
        while await _delivered(db) < DELIVERIES:  # noqa: ASYNC110 - the database is the signal
            await asyncio.sleep(0.02)
        return DELIVERIES / (time.perf_counter() - started)


async def aiohttp_rate(hooks: str, bodies: list[bytes], secret: str) -> float:
    queue = list(enumerate(bodies))
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            while queue:
                n, body = queue.pop()
                headers = webhook_headers([secret], new_webhook_id(), int(time.time()), body)
                async with http.post(
                    f"{hooks}/hooks/{n % ENDPOINTS}", data=body, headers=headers
                ) as response:
                    assert response.status == 204

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return len(bodies) / (time.perf_counter() - started)


async def httpx_rate(hooks: str, bodies: list[bytes], secret: str) -> float:
    """The same as :func:`aiohttp_rate` with httpx (the dispatcher's former client)."""
    queue = list(enumerate(bodies))
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as http:

        async def worker() -> None:
            while queue:
                n, body = queue.pop()
                headers = webhook_headers([secret], new_webhook_id(), int(time.time()), body)
                async with http.stream(
                    "POST", f"{hooks}/hooks/{n % ENDPOINTS}", content=body, headers=headers
                ) as response:
                    assert response.status_code == 204

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return len(bodies) / (time.perf_counter() - started)


async def healthy_p50(url: str, hooks: str, *, hanging: bool) -> float:
    """p50 seconds from queueing to sending of 50 webhooks to a healthy endpoint, one after
    another, optionally beside a hanging endpoint that holds 40."""
    async with dispatching(url, hooks) as db:
        async with db.transaction() as session:
            healthy = await endpoints.create(session, "healthy", f"{hooks}/hooks/ok", None)
            stuck = await endpoints.create(session, "hanging", f"{hooks}/hang", None)
        if hanging:
            await _queue(db, [stuck.id], 40)
            db.wakeup("deliveries").set()
            await asyncio.sleep(0.5)
        latencies: list[float] = []
        for _ in range(50):
            before = await _delivered(db)
            queued = utcnow()
            await _queue(db, [healthy.id], 1)
            db.wakeup("deliveries").set()
            while await _delivered(db) == before:  # noqa: ASYNC110 - the database is the signal
                await asyncio.sleep(0.001)
            async with db.sessionmaker() as session:
                sent = await session.scalar(select(func.max(Delivery.delivered_at)))
            assert sent is not None
            latencies.append((sent - queued).total_seconds())
        return statistics.median(latencies)


@asynccontextmanager
async def sqlite_database() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite+aiosqlite:///{Path(tmp) / 'router.db'}"


async def main() -> None:
    async with receiver() as hooks:
        async with sqlite_database() as url:
            dispatcher = await dispatcher_rate(url, hooks)
            async with Database(url).sessionmaker() as session:
                bodies = [b.encode() for b in await session.scalars(select(Delivery.body))]
        secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        random.shuffle(bodies)
        baseline = await aiohttp_rate(hooks, bodies, secret)
        plain_httpx = await httpx_rate(hooks, bodies, secret)
        print(
            f"dispatcher: {dispatcher:7.1f} deliveries/s to {ENDPOINTS} endpoints, "
            f"{CONCURRENCY} in flight; baseline (plain aiohttp, same bodies and concurrency) "
            f"{baseline:7.1f}/s; ratio {dispatcher / baseline:.2f}"
        )
        print(
            f"    client: plain httpx (its former client) {plain_httpx:7.1f}/s; "
            f"ratio to plain aiohttp {plain_httpx / baseline:.2f}"
        )
        async with sqlite_database() as url:
            alone = await healthy_p50(url, hooks, hanging=False)
        async with sqlite_database() as url:
            beside = await healthy_p50(url, hooks, hanging=True)
        print(
            f"isolation: a healthy endpoint's p50 {beside * 1000:6.1f} ms beside a hanging one "
            f"holding 40 deliveries; baseline (alone) {alone * 1000:6.1f} ms; "
            f"ratio {beside / alone:.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
