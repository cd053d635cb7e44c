"""Helpers shared by the router's tests (this module holds no tests): builders of the partner,
agreement and lead events it consumes, and the router with partners' webhook endpoints, either
in-process (events applied through its consumer path, its workers running, what it publishes
read from its outbox) or served on the real broker."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select

from crosslead_common.auth import hash_api_key, new_api_key
from crosslead_common.customers import CustomerVault
from crosslead_common.db import Database
from crosslead_common.events import (
    AgreementCreated,
    Consent,
    Customer,
    Envelope,
    EventData,
    LeadReceived,
    Manager,
    PartnerRegistered,
    PartnerUpdated,
    ShareContact,
    Topic,
    Warmth,
)
from crosslead_common.terms import PercentCommission
from crosslead_local.localstack import LocalBroker
from crosslead_router.models import Agreement, Partner
from tests.support import CUSTOMER_DATA_KEY, bearer, eventually
from tests.support.kafka import publish, read_until
from tests.support.services import in_process, running, served
from tests.support.webhooks import Receiver, webhook_receiver

#: Seals customers as intake does, under the router's customer-data key in tests.
VAULT = CustomerVault.from_settings(CUSTOMER_DATA_KEY)
#: The customer of every lead :func:`received` builds.
CUSTOMER = Customer(name="Zoë Client", email="zoe@example.com")


@asynccontextmanager
async def running_router(
    database_url: str, broker: LocalBroker, **overrides: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    """The router served on a migrated database with its consumer on ``broker``: an HTTP
    client for it and a handle on its database (for set-up and for waiting until it has
    consumed something)."""
    async with served("router", database_url, broker.bootstrap_servers, **overrides) as router:
        yield router.client, router.db


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
    agreement_id: str,
    source: str,
    target: str,
    accept_within: int = 3600,
    priority: int = 0,
    share_contact: ShareContact = "on_accept",
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
        share_contact=share_contact,
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
        customer=VAULT.seal(lead_id, CUSTOMER),
        consent=Consent(
            given_at=datetime(2026, 1, 1, tzinfo=UTC), text="may share", categories=consent_to
        ),
        warmth=Warmth(notes="measured the windows already", score=5),
        manager=Manager(id="mgr-1", name="Ann"),
    )


def of_type(events: list[Envelope], kind: type[EventData], lead_id: str) -> list[Any]:
    return [e.payload() for e in events if e.type == kind.event_type and e.subject == lead_id]


async def projection_size(db: Database) -> tuple[int, int]:
    """How many partners and agreements the router knows."""
    async with db.sessionmaker() as session:
        partners = await session.scalar(select(func.count()).select_from(Partner))
        agreements = await session.scalar(select(func.count()).select_from(Agreement))
    return partners or 0, agreements or 0


def webhooks(receiver: Receiver, partner_id: str, kind: str) -> list[dict[str, Any]]:
    bodies = [json.loads(r.body) for r in receiver.requests[partner_id]]
    return [b["data"] for b in bodies if b["type"] == kind]


def offered_leads(receiver: Receiver, partner_id: str) -> set[str]:
    return {data["lead_id"] for data in webhooks(receiver, partner_id, "lead.offered")}


@dataclass
class Network:
    """Routers that know some partners and agreements, each partner with an endpoint
    ``/hooks/<id>`` on one real receiver."""

    receiver: Receiver
    clients: list[httpx.AsyncClient]
    secrets: dict[str, str]
    publish: Callable[..., Awaitable[object]]
    events: Callable[[Callable[[list[Envelope]], bool]], Awaitable[list[Envelope]]]

    @property
    def http(self) -> httpx.AsyncClient:
        return self.clients[0]

    async def events_until(self, done: Callable[[list[Envelope]], bool]) -> list[Envelope]:
        """The router's events on the leads topic, once ``done`` holds for them."""
        return await self.events(done)


@asynccontextmanager
async def network(
    database_url: str,
    partners: Sequence[PartnerSpec],
    agreements: Sequence[AgreementCreated],
    *,
    endpoints: Sequence[PartnerSpec] | None = None,
    **settings: Any,
) -> AsyncIterator[Network]:
    """The router in-process with its workers (webhook dispatcher, deadlines, waiting leads),
    no broker; ``endpoints`` (every partner unless given) have a webhook endpoint."""
    async with (
        webhook_receiver() as (receiver, hooks_url),
        in_process("router", database_url, **settings) as router,
        AsyncExitStack() as stack,  # the workers stop before the database closes
    ):
        for _, worker in router.runtime.workers:
            await stack.enter_async_context(running(worker))
        await router.deliver(*(p.registered() for p in partners), *agreements)

        async def events(done: Callable[[list[Envelope]], bool]) -> list[Envelope]:
            async def outbox() -> list[Envelope] | None:
                found = await router.outbox(Topic.LEADS)
                return found if done(found) else None

            return await eventually(outbox, timeout=30)

        with_endpoint = partners if endpoints is None else endpoints
        secrets = await _endpoints(router.client, with_endpoint, hooks_url)
        yield Network(receiver, [router.client], secrets, router.deliver, events)


@asynccontextmanager
async def served_network(
    broker: LocalBroker,
    database_url: str,
    partners: Sequence[PartnerSpec],
    agreements: Sequence[AgreementCreated],
    *,
    replicas: int = 1,
    **settings: Any,
) -> AsyncIterator[Network]:
    """``replicas`` routers served on one database and the real broker."""
    async with AsyncExitStack() as stack:
        receiver, hooks_url = await stack.enter_async_context(webhook_receiver())
        routers = [
            await stack.enter_async_context(
                served("router", database_url, broker.bootstrap_servers, **settings)
            )
            for _ in range(replicas)
        ]
        await publish(broker, *(p.registered() for p in partners), *agreements)

        async def known() -> bool:
            return await projection_size(routers[0].db) == (len(partners), len(agreements))

        await eventually(known, timeout=30)

        async def send(*events: EventData | Envelope) -> object:
            return await publish(broker, *events)

        async def events(done: Callable[[list[Envelope]], bool]) -> list[Envelope]:
            return await read_until(broker, Topic.LEADS, done)

        secrets = await _endpoints(routers[0].client, partners, hooks_url)
        yield Network(receiver, [r.client for r in routers], secrets, send, events)


async def _endpoints(
    http: httpx.AsyncClient, partners: Sequence[PartnerSpec], hooks_url: str
) -> dict[str, str]:
    """Register each partner's endpoint; returns their signing secrets."""
    secrets = {}
    for each in partners:
        response = await http.post(
            "/v1/webhook-endpoints",
            headers=bearer(each.key),
            json={"url": f"{hooks_url}/hooks/{each.id}"},
        )
        assert response.status_code == 201, response.text
        secrets[each.id] = response.json()["secret"]
    return secrets
