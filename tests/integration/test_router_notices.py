"""Both sides of a lead hear every fact by signed webhook: the source partner gets delivered,
accepted, rejected, unroutable, converted and commission; the target gets commission for the
deal it reported; each endpoint only the types it receives. Real broker, database, receivers
verifying with ``standardwebhooks``."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from standardwebhooks import Webhook

from crosslead_common.events import (
    CommissionAccrued,
    ConversionReported,
    LeadAccepted,
    LeadRejected,
)
from crosslead_common.terms import PercentCommission
from crosslead_local.localstack import LocalBroker
from tests.support import bearer, eventually
from tests.support.kafka import publish
from tests.support.router import agreement, lead, partner, projection_size, running_router
from tests.support.webhooks import Receiver, webhook_receiver

pytestmark = pytest.mark.schema("router")

SHOP = partner("shop", "north")
FITTER = partner("fitter", "north")
SOURCE_TYPES = [
    "lead.delivered",
    "lead.accepted",
    "lead.unroutable",
    "lead.converted",
    "commission.accrued",
]


def received(receiver: Receiver, name: str, secret: str) -> list[dict[str, Any]]:
    """Every webhook ``name`` got, verified, once per webhook id (as a receiver deduplicates)."""
    bodies: dict[str, dict[str, Any]] = {}
    for request in receiver.requests[name]:
        body: dict[str, Any] = Webhook(secret).verify(request.body, request.headers)
        bodies[request.headers["webhook-id"]] = body
    return list(bodies.values())


def of(bodies: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [b["data"] for b in bodies if b["type"] == kind]


async def test_the_source_hears_every_fact_about_its_lead_and_the_target_its_commission(
    broker: LocalBroker, database_url: str
) -> None:
    async with (
        webhook_receiver() as (receiver, hooks_url),
        running_router(database_url, broker) as (http, db),
    ):
        await publish(
            broker, SHOP.registered(), FITTER.registered(), agreement("agr", SHOP.id, FITTER.id)
        )

        async def known() -> bool:
            return await projection_size(db) == (2, 1)

        await eventually(known)
        endpoints = {}
        for who, name, types in ((SHOP, "shop", SOURCE_TYPES), (FITTER, "fitter", None)):
            body: dict[str, Any] = {"url": f"{hooks_url}/hooks/{name}"}
            if types:
                body["event_types"] = types
            response = await http.post("/v1/webhook-endpoints", headers=bearer(who.key), json=body)
            assert response.status_code == 201, response.text
            endpoints[name] = response.json()
        receiver.failures["shop"] = 1  # the first notice is retried under its webhook id

        await publish(broker, lead("lead-1", SHOP.id, "north"), lead("lead-2", SHOP.id, "north"))
        await eventually(lambda: len(receiver.requests["fitter"]) == 2)
        await publish(
            broker,
            LeadAccepted(lead_id="lead-1", partner_id=FITTER.id),
            LeadRejected(lead_id="lead-2", partner_id=FITTER.id, reason="booked up"),
            ConversionReported(
                conversion_id="cnv-1",
                lead_id="lead-1",
                external_id="deal-7",
                status="won",
                amount=Decimal("1000.00"),
                currency="EUR",
                source_partner_id=SHOP.id,
                target_partner_id=FITTER.id,
                manager_id="mgr-1",
                agreement_id="agr",
                commission=PercentCommission(rate=Decimal("0.10")),
                manager_share=Decimal("0.20"),
            ),
            CommissionAccrued(
                lead_id="lead-1",
                conversion_id="cnv-1",
                source_partner_id=SHOP.id,
                target_partner_id=FITTER.id,
                manager_id="mgr-1",
                commission=Decimal("100.00"),
                manager_amount=Decimal("20.00"),
                currency="EUR",
            ),
        )

        def shop_heard_all() -> list[dict[str, Any]] | None:
            bodies = received(receiver, "shop", endpoints["shop"]["secret"])
            kinds = {b["type"] for b in bodies}
            return bodies if set(SOURCE_TYPES) <= kinds else None

        shop = await eventually(shop_heard_all)
        delivered = of(shop, "lead.delivered")
        assert sorted(d["lead_id"] for d in delivered) == ["lead-1", "lead-2"]
        assert all(d["partner_id"] == FITTER.id for d in delivered)
        assert of(shop, "lead.accepted") == [{"lead_id": "lead-1", "partner_id": FITTER.id}]
        assert of(shop, "lead.converted") == [
            {
                "lead_id": "lead-1",
                "partner_id": FITTER.id,
                "conversion_id": "cnv-1",
                "status": "won",
                "amount": "1000.00",
                "currency": "EUR",
            }
        ]
        commission = {
            "lead_id": "lead-1",
            "conversion_id": "cnv-1",
            "source_partner_id": SHOP.id,
            "target_partner_id": FITTER.id,
            "commission": "100.00",
            "currency": "EUR",
        }
        assert of(shop, "commission.accrued") == [commission]
        # lead-2 was rejected and nobody else serves it: unroutable. The shop's endpoint does
        # not receive lead.rejected, so it is not sent one.
        [unroutable] = of(shop, "lead.unroutable")
        assert unroutable["lead_id"] == "lead-2"
        assert of(shop, "lead.rejected") == []

        def fitter_heard_commission() -> list[dict[str, Any]] | None:
            bodies = received(receiver, "fitter", endpoints["fitter"]["secret"])
            return of(bodies, "commission.accrued") or None

        assert await eventually(fitter_heard_commission) == [commission]

        async def all_delivered() -> list[dict[str, Any]] | None:
            listed = await http.get("/v1/deliveries", headers=bearer(SHOP.key))
            items: list[dict[str, Any]] = listed.json()["items"]
            return items if all(d["status"] == "delivered" for d in items) else None

        # The last attempt's outcome is recorded a moment after its receiver answered.
        items = await eventually(all_delivered)
        assert sorted(d["kind"] for d in items) == sorted([*SOURCE_TYPES, "lead.delivered"])
        # The failed first notice was sent again under the same webhook id; every notice is a
        # delivery the shop can list.
        ids = [r.headers["webhook-id"] for r in receiver.requests["shop"]]
        assert ids.count(ids[0]) == 2
        assert len(set(ids)) == len(ids) - 1
        assert json.loads(receiver.requests["shop"][0].body)["type"] == "lead.delivered"
