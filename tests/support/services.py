"""Each service under test, built one way: its settings, and its app either served for real
(lifespan, consumers and workers on a real broker) or driven in-process (the service tier).

In-process, ``httpx.ASGITransport`` does not run the lifespan, so no broker, relay, consumer
or worker starts: the events the service would publish are read from its outbox table, and
events it consumes are applied through the real idempotent-consumer path
(:meth:`Runtime.apply <crosslead_common.runtime.Runtime.apply>`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from crosslead_common.db import Database
from crosslead_common.events import Envelope, EventData
from crosslead_common.runtime import Runtime
from crosslead_common.settings import ServiceSettings
from crosslead_intake.app import create_app as intake_app
from crosslead_intake.models import outbox as intake_outbox
from crosslead_intake.settings import IntakeSettings
from crosslead_payouts.app import create_app as payouts_app
from crosslead_payouts.models import outbox as payouts_outbox
from crosslead_payouts.settings import PayoutsSettings
from crosslead_router.app import create_app as router_app
from crosslead_router.models import outbox as router_outbox
from crosslead_router.settings import RouterSettings
from tests.support.databases import migrate
from tests.support.http import ADMIN_TOKEN, CUSTOMER_DATA_KEY, CUSTOMER_HASH_KEY, SECRETS_KEY, serve
from tests.support.kafka import SESSION_TIMEOUT_SECONDS

__all__ = ["Service", "in_process", "running", "served", "settings_for"]

#: No broker listens here: an in-process service must never reach for one.
NO_BROKER = "127.0.0.1:9"

_APPS: dict[str, tuple[type[ServiceSettings], Callable[[Any], FastAPI], Any]] = {
    "intake": (IntakeSettings, intake_app, intake_outbox),
    "router": (RouterSettings, router_app, router_outbox),
    "payouts": (PayoutsSettings, payouts_app, payouts_outbox),
}

_FAST: dict[str, dict[str, Any]] = {
    "intake": {"customer_hash_key": CUSTOMER_HASH_KEY, "customer_data_key": CUSTOMER_DATA_KEY},
    "payouts": {},
    "router": {
        "customer_data_key": CUSTOMER_DATA_KEY,
        "dispatcher_poll_interval_seconds": 0.2,
        "webhook_timeout_seconds": 2,
        "webhook_backoff_seconds": (0.1,),
        "webhook_backoff_jitter": 0,
        "webhook_allow_private": True,
        "deadline_grace_seconds": 0,
        "secrets_key": SECRETS_KEY,
    },
}


def settings_for(
    service: str, database_url: str, bootstrap_servers: str = NO_BROKER, **overrides: Any
) -> Any:
    """``service``'s settings for tests: short polls and timeouts, ``overrides`` on top."""
    values: dict[str, Any] = {
        "admin_token": ADMIN_TOKEN,
        "database_url": database_url,
        "kafka_bootstrap_servers": bootstrap_servers,
        "kafka_topic_partitions": 2,
        "kafka_session_timeout_seconds": SESSION_TIMEOUT_SECONDS,
        "outbox_poll_interval_seconds": 0.2,
        **_FAST[service],
    }
    return _APPS[service][0](**(values | overrides))


class Service:
    """One service under test: an HTTP client on its API and a handle on its database."""

    def __init__(self, name: str, client: httpx.AsyncClient, runtime: Runtime) -> None:
        self.name = name
        self.client = client
        self.runtime = runtime

    @property
    def db(self) -> Database:
        return self.runtime.db

    async def deliver(self, *events: EventData | Envelope) -> list[Envelope]:
        """Apply each event as the service's consumers would on receiving it, in order."""
        envelopes = [
            e if isinstance(e, Envelope) else Envelope.wrap(e, source="test") for e in events
        ]
        for envelope in envelopes:
            await self.runtime.apply(envelope)
        return envelopes

    async def outbox(self, topic: str | None = None) -> list[Envelope]:
        """The events the service has committed for publication, oldest first."""
        table = _APPS[self.name][2].table
        query = select(table.c.payload).order_by(table.c.id)
        if topic is not None:
            query = query.where(table.c.topic == topic)
        async with self.db.sessionmaker() as session:
            payloads = (await session.scalars(query)).all()
        return [Envelope.model_validate_json(p) for p in payloads]


@asynccontextmanager
async def in_process(service: str, database_url: str, **overrides: Any) -> AsyncIterator[Service]:
    """``service`` on a freshly migrated database, its API called in-process, no broker."""
    await migrate(database_url, service)
    app = _APPS[service][1](settings_for(service, database_url, **overrides))
    runtime: Runtime = app.state.runtime
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Service(service, client, runtime)
    finally:
        await runtime.db.dispose()


@asynccontextmanager
async def served(
    service: str, database_url: str, bootstrap_servers: str, **overrides: Any
) -> AsyncIterator[Service]:
    """``service`` on a freshly migrated database, served for real on a free port with its
    consumers, relay and workers on the broker at ``bootstrap_servers``."""
    await migrate(database_url, service)
    app = _APPS[service][1](settings_for(service, database_url, bootstrap_servers, **overrides))
    runtime: Runtime = app.state.runtime
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        yield Service(service, client, runtime)


@asynccontextmanager
async def running(worker: Callable[[], Awaitable[None]]) -> AsyncIterator[None]:
    """Run one of a service's background workers (a dispatcher, a watcher) for the block."""

    async def run() -> None:
        await worker()

    task = asyncio.create_task(run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
