"""Helpers shared by the router's integration tests (this module holds no tests): the router
served on a real socket, a real webhook receiver, and publishing/reading CloudEvents on the
real broker."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI, Request, Response
from sqlalchemy import func, select

from crosslead_common.auth import hash_api_key, new_api_key
from crosslead_common.db import Database
from crosslead_common.events import (
    EVENT_TYPES,
    AgreementCreated,
    Consent,
    Customer,
    Envelope,
    EventData,
    LeadReceived,
    Manager,
    PartnerRegistered,
    PartnerUpdated,
    PercentCommission,
    Warmth,
)
from crosslead_common.kafka import create_producer
from crosslead_common.localstack import LocalBroker
from crosslead_common.migrations import upgrade
from crosslead_router.app import create_app
from crosslead_router.cli import MIGRATIONS
from crosslead_router.models import Agreement, Base, Partner
from crosslead_router.settings import RouterSettings
from tests.support import ADMIN_TOKEN, serve


def router_settings(database_url: str, bootstrap: str, **overrides: Any) -> RouterSettings:
    values: dict[str, Any] = {
        "admin_token": ADMIN_TOKEN,
        "database_url": database_url,
        "kafka_bootstrap_servers": bootstrap,
        "kafka_topic_partitions": 2,
        "outbox_poll_interval_seconds": 0.2,
        "dispatcher_poll_interval_seconds": 0.2,
        "webhook_timeout_seconds": 2,
        "webhook_backoff_seconds": (0.1,),
        "webhook_backoff_jitter": 0,
        "webhook_allow_private": True,
        "deadline_grace_seconds": 0,
    }
    return RouterSettings(**(values | overrides))


@asynccontextmanager
async def running_router(
    database_url: str, broker: LocalBroker, **overrides: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    """The router on a migrated database, with an HTTP client for it and a handle on its
    database (for test set-up and for waiting until it has consumed something)."""
    await upgrade(database_url, MIGRATIONS, Base.metadata)
    settings = router_settings(database_url, broker.bootstrap_servers, **overrides)
    db = Database(database_url)
    try:
        async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as http:
            yield http, db
    finally:
        await db.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A partner's webhook endpoint: ``POST /hooks/{name}`` records every request and answers
    500 while ``failures[name]`` is above zero, then 204; a name in ``hanging`` never answers
    (until the receiver stops). ``in_flight``/``most_in_flight`` count open requests."""

    requests: dict[str, list[Received]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, int] = field(default_factory=dict)
    hanging: set[str] = field(default_factory=set)
    in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    most_in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hooks/{name}")
        async def hook(name: str, request: Request) -> Response:
            self.requests[name].append(Received(dict(request.headers), await request.body()))
            if name in self.hanging:
                self.in_flight[name] += 1
                self.most_in_flight[name] = max(self.most_in_flight[name], self.in_flight[name])
                try:
                    await self.release.wait()
                finally:
                    self.in_flight[name] -= 1
            if self.failures.get(name, 0) > 0:
                self.failures[name] -= 1
                return Response(status_code=500)
            return Response(status_code=204)

        return app


@asynccontextmanager
async def webhook_receiver() -> AsyncIterator[tuple[Receiver, str]]:
    receiver = Receiver()
    async with serve(receiver.app()) as url:
        try:
            yield receiver, url
        finally:
            receiver.release.set()  # hanging requests end, so the server can stop


@dataclass(frozen=True)
class PartnerSpec:
    id: str
    key: str
    regions: tuple[str, ...]
    offers: tuple[str, ...] = ("installation",)
    capacity_per_day: int | None = None
    paused: bool = False

    def registered(self) -> PartnerRegistered:
        return PartnerRegistered(
            partner_id=self.id,
            name=f"{self.id} Ltd",
            offers=self.offers,
            regions=self.regions,
            capacity_per_day=self.capacity_per_day,
            api_key_hash=hash_api_key(self.key),
            paused=self.paused,
        )

    def updated(self, **changes: Any) -> PartnerUpdated:
        """Its routing settings as they stand, with ``changes``."""
        settings = self.registered().model_dump(
            include={"offers", "regions", "capacity_per_day", "capacity_per_hour", "paused"}
        )
        return PartnerUpdated(partner_id=self.id, availability=None, **(settings | changes))


def partner(
    partner_id: str,
    *regions: str,
    offers: tuple[str, ...] = ("installation",),
    capacity_per_day: int | None = None,
    paused: bool = False,
) -> PartnerSpec:
    return PartnerSpec(partner_id, new_api_key(), regions, offers, capacity_per_day, paused)


def agreement(
    agreement_id: str, source: str, target: str, accept_within: int = 3600, priority: int = 0
) -> AgreementCreated:
    return AgreementCreated(
        agreement_id=agreement_id,
        source_partner_id=source,
        target_partner_id=target,
        categories=("installation", "repair"),
        commission=PercentCommission(rate=Decimal("0.10")),
        manager_share=Decimal("0.20"),
        accept_within_seconds=accept_within,
        priority=priority,
    )


def lead(
    lead_id: str, source: str, region: str, consent_to: tuple[str, ...] | None = None
) -> LeadReceived:
    return LeadReceived(
        lead_id=lead_id,
        source_partner_id=source,
        source_partner_name=f"{source} Ltd",
        need="installation",
        region=region,
        customer=Customer(name="Zoë Client", email="zoe@example.com"),
        consent=Consent(
            given_at=datetime(2026, 1, 1, tzinfo=UTC), text="may share", categories=consent_to
        ),
        warmth=Warmth(notes="measured the windows already", score=5),
        manager=Manager(id="mgr-1", name="Ann"),
    )


async def publish(broker: LocalBroker, *events: EventData | Envelope) -> list[Envelope]:
    """Publish each event as a CloudEvent keyed by its subject, in order."""
    producer = create_producer(broker.bootstrap_servers, client_id="test")
    await producer.start()
    sent = []
    try:
        for item in events:
            envelope = item if isinstance(item, Envelope) else Envelope.wrap(item, source="test")
            await producer.send_and_wait(
                EVENT_TYPES[envelope.type].topic,
                value=envelope.to_bytes(),
                key=envelope.subject.encode(),
            )
            sent.append(envelope)
    finally:
        await producer.stop()
    return sent


async def read_until(
    broker: LocalBroker, topic: str, done: Callable[[list[Envelope]], bool], timeout: float = 30
) -> list[Envelope]:
    """Every event on ``topic`` from the start, once ``done`` holds for them."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest"
    )
    seen: list[Envelope] = []
    try:
        async with asyncio.timeout(timeout):
            await consumer.start()
            while not done(seen):
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    seen.extend(Envelope.model_validate_json(r.value) for r in records if r.value)
    except TimeoutError:
        raise AssertionError(f"expected events not seen on {topic}: {seen}") from None
    finally:
        await consumer.stop()
    return seen


def of_type(events: list[Envelope], kind: type[EventData], lead_id: str) -> list[Any]:
    return [e.payload() for e in events if e.type == kind.event_type and e.subject == lead_id]


async def projection_size(db: Database) -> tuple[int, int]:
    """How many partners and agreements the router knows."""
    async with db.sessionmaker() as session:
        partners = await session.scalar(select(func.count()).select_from(Partner))
        agreements = await session.scalar(select(func.count()).select_from(Agreement))
    return partners or 0, agreements or 0
