"""Helpers shared by the router's tests (this module holds no tests): the router served on a
real socket, and builders of the partner, agreement and lead events it consumes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select

from crosslead_common.auth import hash_api_key, new_api_key
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
    PercentCommission,
    Warmth,
)
from crosslead_common.localstack import LocalBroker
from crosslead_router.models import Agreement, Partner
from tests.support.services import served


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


def of_type(events: list[Envelope], kind: type[EventData], lead_id: str) -> list[Any]:
    return [e.payload() for e in events if e.type == kind.event_type and e.subject == lead_id]


async def projection_size(db: Database) -> tuple[int, int]:
    """How many partners and agreements the router knows."""
    async with db.sessionmaker() as session:
        partners = await session.scalar(select(func.count()).select_from(Partner))
        agreements = await session.scalar(select(func.count()).select_from(Agreement))
    return partners or 0, agreements or 0
