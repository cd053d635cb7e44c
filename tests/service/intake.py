"""Intake in the service tier (this module holds no tests): its API called in-process on a
freshly migrated database, with builders for the partners, agreements and leads most tests
start from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from crosslead_common.events import Envelope, EventData, LeadRouted
from crosslead_intake.models import Lead
from tests.support import ADMIN, bearer, eventually
from tests.support.services import Service, in_process

auth = bearer

__all__ = ["ADMIN", "Intake", "auth", "lead_body", "route", "running_intake"]


def lead_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "need": "installation",
        "region": "berlin",
        "customer": {"name": "Ada Buyer", "phone": "+49 30 1234567"},
        "consent": {"given_at": "2026-11-01T10:00:00Z", "text": "May be passed to installers."},
        "warmth": {"notes": "Bought 6 windows, wants them fitted in March.", "score": 4},
        "manager": {"id": "mgr-7", "name": "Max"},
    }
    body.update(overrides)
    return body


class Intake:
    """The intake service under test, plus a handle on its database and its events."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.client = service.client
        self.db = service.db

    async def partner(
        self, name: str, offers: list[str], regions: list[str], **settings: Any
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/partners",
            headers=ADMIN,
            json={"name": name, "offers": offers, "regions": regions, **settings},
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def agreement(
        self, source: dict[str, Any], target: dict[str, Any], **terms: Any
    ) -> dict[str, Any]:
        """An agreement for installation leads from ``source`` to ``target`` (10 %, 20 %)."""
        body = {
            "source_partner_id": source["id"],
            "target_partner_id": target["id"],
            "categories": ["installation"],
            "commission": {"type": "percent", "rate": "0.10"},
            "manager_share": "0.20",
            **terms,
        }
        response = await self.client.post("/v1/agreements", headers=ADMIN, json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def lead(self, source: dict[str, Any], **overrides: Any) -> str:
        """Submit ``lead_body(**overrides)`` from ``source``; returns the lead id."""
        response = await self.client.post(
            "/v1/leads", headers=auth(source["api_key"]), json=lead_body(**overrides)
        )
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    async def won(
        self, target: dict[str, Any], lead_id: str, amount: str, external_id: str = "deal-1"
    ) -> httpx.Response:
        """``target`` reports a won deal of ``amount`` EUR on the lead."""
        return await self.client.post(
            "/v1/conversions",
            headers=auth(target["api_key"]),
            json={
                "lead_id": lead_id,
                "external_id": external_id,
                "status": "won",
                "amount": amount,
                "currency": "EUR",
            },
        )

    async def count_leads(self) -> int:
        async with self.db.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(Lead)) or 0)

    async def publish(self, event: EventData | Envelope) -> None:
        """Deliver another service's event to intake's consumer, as if read from Kafka."""
        await self.service.deliver(event)

    async def published(self, topic: str, count: int) -> list[Envelope]:
        """The ``count`` events intake has committed for publication on ``topic``."""
        events = await self.service.outbox(topic)
        assert len(events) == count, [e.type for e in events]
        return events


@asynccontextmanager
async def running_intake(database_url: str, **settings: Any) -> AsyncIterator[Intake]:
    """Intake on a migrated database, with ``settings`` overriding the test defaults."""
    async with in_process("intake", database_url, **settings) as service:
        yield Intake(service)


async def route(
    intake: Intake,
    lead_id: str,
    source: str,
    target: str,
    agreement: str,
    accept_within: timedelta = timedelta(hours=1),
) -> None:
    """Deliver the router's decision and wait until intake has applied it."""
    await intake.publish(
        LeadRouted(
            lead_id=lead_id,
            source_partner_id=source,
            target_partner_id=target,
            agreement_id=agreement,
            accept_by=datetime.now(UTC) + accept_within,
        )
    )

    async def routed() -> bool:
        response = await intake.client.get(f"/v1/leads/{lead_id}", headers=ADMIN)
        return bool(response.json()["status"] == "routed")

    await eventually(routed)
