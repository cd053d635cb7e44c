"""The payouts service on the real broker and real databases: conversions in, ledger and
statements out, commission events published."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from crosslead_common.auth import hash_api_key, new_api_key
from crosslead_common.events import (
    ConversionReported,
    Envelope,
    EventData,
    PartnerRegistered,
    Topic,
    dlq_topic,
)
from crosslead_common.migrations import upgrade
from crosslead_common.terms import PercentCommission
from crosslead_local.localstack import LocalBroker
from crosslead_payouts.app import create_app
from crosslead_payouts.cli import MIGRATIONS
from crosslead_payouts.models import Base
from crosslead_payouts.settings import PayoutsSettings
from tests.support import ADMIN_TOKEN, eventually, serve

SHOP, INSTALLER = "ptr_shop", "ptr_installer"
KEYS = {SHOP: new_api_key(), INSTALLER: new_api_key()}
WAIT = 30.0


@pytest.fixture
async def client(broker: LocalBroker, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    await upgrade(database_url, MIGRATIONS, Base.metadata)
    settings = PayoutsSettings(
        admin_token=ADMIN_TOKEN,
        kafka_bootstrap_servers=broker.bootstrap_servers,
        kafka_topic_partitions=3,
        database_url=database_url,
    )
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as http:
        yield http


async def publish(producer: AIOKafkaProducer, *items: EventData | Envelope) -> None:
    for item in items:
        envelope = item if isinstance(item, Envelope) else Envelope.wrap(item, source="test")
        await producer.send_and_wait(
            Topic.PARTNERS if envelope.type.startswith("crosslead.partner") else Topic.CONVERSIONS,
            value=envelope.to_bytes(),
            key=envelope.subject.encode(),
        )


def partner(partner_id: str) -> PartnerRegistered:
    return PartnerRegistered(
        partner_id=partner_id,
        name=partner_id.removeprefix("ptr_"),
        offers=("windows",),
        regions=("AT",),
        capacity_per_day=None,
        api_key_hash=hash_api_key(KEYS[partner_id]),
    )


def conversion(
    lead_id: str,
    status: str,
    amount: str,
    *,
    source: str = SHOP,
    target: str = INSTALLER,
    manager_id: str = "m-1",
    share: str = "0.20",
    **overrides: Any,
) -> ConversionReported:
    """A conversion under a 10 % EUR agreement; ``overrides`` replace any other field."""
    return ConversionReported.model_validate(
        {
            "conversion_id": f"cnv_{uuid.uuid4().hex}",
            "lead_id": lead_id,
            "external_id": f"deal-{uuid.uuid4().hex[:6]}",
            "status": status,
            "amount": Decimal(amount),
            "currency": "EUR",
            "source_partner_id": source,
            "target_partner_id": target,
            "manager_id": manager_id,
            "agreement_id": "agr_1",
            "commission": PercentCommission(rate=Decimal("0.10")),
            "manager_share": Decimal(share),
            **overrides,
        }
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def totals(earned: str, owed: str, manager_payable: str, net: str) -> list[dict[str, str]]:
    return [
        {
            "currency": "EUR",
            "earned": earned,
            "owed": owed,
            "manager_payable": manager_payable,
            "net": net,
        }
    ]


async def statement_when(
    client: httpx.AsyncClient, token: str, expected: list[dict[str, str]], **params: str
) -> dict[str, Any]:
    """The statement, once its currency totals are ``expected``."""

    async def probe() -> dict[str, Any] | None:
        response = await client.get("/v1/statements", headers=bearer(token), params=params)
        body: dict[str, Any] = response.json()
        return body if response.status_code == 200 and body["currency_totals"] == expected else None

    return await eventually(probe, timeout=WAIT)


async def read_topic(broker: LocalBroker, topic: str, count: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest"
    )
    records: list[Any] = []
    try:
        async with asyncio.timeout(WAIT):
            await consumer.start()
            while len(records) < count:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records.extend(batch)
    finally:
        await consumer.stop()
    return records


def lines(statement: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [
        (line["lead_id"], line["kind"], line["amount"], line["counterparty_partner_id"])
        for line in statement["lines"]
    ]


async def test_won_deal_accrues_once_and_a_refund_reverses_in_proportion(
    broker: LocalBroker, producer: AIOKafkaProducer, client: httpx.AsyncClient
) -> None:
    won = conversion("lead_1", "won", "1000.00")
    won_envelope = Envelope.wrap(won, source="test")
    # The same event delivered twice, and the same conversion under another event id.
    await publish(producer, partner(SHOP), partner(INSTALLER), won_envelope, won_envelope, won)

    shop = await statement_when(client, KEYS[SHOP], totals("100.00", "0.00", "20.00", "80.00"))
    assert shop["partner_id"] == SHOP
    assert lines(shop) == [
        ("lead_1", "commission_earned", "100.00", INSTALLER),
        ("lead_1", "manager_payable", "20.00", INSTALLER),
    ]
    installer = await statement_when(
        client, KEYS[INSTALLER], totals("0.00", "100.00", "0.00", "-100.00")
    )
    assert lines(installer) == [("lead_1", "commission_owed", "100.00", SHOP)]
    earnings = await client.get("/v1/managers/m-1/earnings", headers=bearer(KEYS[SHOP]))
    assert earnings.json() == {
        "manager_id": "m-1",
        "partner_id": SHOP,
        "totals": [{"currency": "EUR", "amount": "20.00"}],
    }

    await publish(producer, conversion("lead_1", "refunded", "500.00"))
    shop = await statement_when(client, KEYS[SHOP], totals("50.00", "0.00", "10.00", "40.00"))
    assert lines(shop)[2:] == [
        ("lead_1", "commission_earned", "-50.00", INSTALLER),
        ("lead_1", "manager_payable", "-10.00", INSTALLER),
    ]
    await statement_when(client, KEYS[INSTALLER], totals("0.00", "50.00", "0.00", "-50.00"))
    earnings = await client.get("/v1/managers/m-1/earnings", headers=bearer(ADMIN_TOKEN))
    assert earnings.json()["totals"] == [{"currency": "EUR", "amount": "10.00"}]

    published = [
        Envelope.model_validate_json(record.value)
        for record in await read_topic(broker, Topic.COMMISSIONS, 2)
    ]
    assert [(e.type, e.subject) for e in published] == [
        ("crosslead.commission.accrued.v1", "lead_1"),
        ("crosslead.commission.reversed.v1", "lead_1"),
    ]
    assert [(e.data["commission"], e.data["manager_amount"]) for e in published] == [
        ("100.00", "20.00"),
        ("50.00", "10.00"),
    ]
    assert published[0].data["conversion_id"] == won.conversion_id


async def test_partners_see_only_their_own_money_and_managers_are_scoped_to_partners(
    producer: AIOKafkaProducer, client: httpx.AsyncClient
) -> None:
    # Both partners have a manager called m-1; each refers a lead to the other.
    await publish(
        producer,
        partner(SHOP),
        partner(INSTALLER),
        conversion("lead_1", "won", "1000.00"),
        conversion("lead_2", "won", "200.00", source=INSTALLER, target=SHOP, share="0.5"),
    )
    shop = await statement_when(client, KEYS[SHOP], totals("100.00", "20.00", "20.00", "60.00"))
    as_admin = await client.get(
        "/v1/statements", headers=bearer(ADMIN_TOKEN), params={"partner_id": SHOP}
    )
    assert as_admin.json() == shop
    await statement_when(client, KEYS[INSTALLER], totals("20.00", "100.00", "10.00", "-90.00"))

    foreign = await client.get(
        "/v1/statements", headers=bearer(KEYS[SHOP]), params={"partner_id": INSTALLER}
    )
    assert foreign.status_code == 404
    assert foreign.headers["content-type"] == "application/problem+json"
    anonymous = await client.get("/v1/statements")
    assert anonymous.status_code == 401
    wrong_key = await client.get("/v1/statements", headers=bearer(new_api_key()))
    assert wrong_key.status_code == 401
    admin_without_partner = await client.get("/v1/statements", headers=bearer(ADMIN_TOKEN))
    assert admin_without_partner.status_code == 422
    assert admin_without_partner.json()["errors"][0]["field"] == "partner_id"
    unknown = await client.get(
        "/v1/statements", headers=bearer(ADMIN_TOKEN), params={"partner_id": "ptr_nobody"}
    )
    assert unknown.status_code == 404

    async def earnings(token: str, manager_id: str = "m-1", **params: str) -> httpx.Response:
        path = f"/v1/managers/{manager_id}/earnings"
        return await client.get(path, headers=bearer(token), params=params)

    assert (await earnings(KEYS[SHOP])).json()["totals"] == [{"currency": "EUR", "amount": "20.00"}]
    mine = await earnings(KEYS[INSTALLER])
    assert mine.json() == {
        "manager_id": "m-1",
        "partner_id": INSTALLER,
        "totals": [{"currency": "EUR", "amount": "10.00"}],
    }
    assert (await earnings(ADMIN_TOKEN, partner_id=INSTALLER)).json() == mine.json()
    ambiguous = await earnings(ADMIN_TOKEN)
    assert ambiguous.status_code == 422
    assert ambiguous.json()["errors"][0]["field"] == "partner_id"
    assert (await earnings(KEYS[SHOP], partner_id=INSTALLER)).status_code == 404
    assert (await earnings(KEYS[SHOP], manager_id="m-unknown")).status_code == 404
    assert (await client.get("/v1/managers/m-1/earnings")).status_code == 401


async def test_a_refund_on_a_lead_with_nothing_won_is_dead_lettered(
    broker: LocalBroker, producer: AIOKafkaProducer, client: httpx.AsyncClient
) -> None:
    refund = Envelope.wrap(conversion("lead_9", "refunded", "10.00"), source="test")
    await publish(producer, partner(SHOP), refund)

    (dead,) = await read_topic(broker, dlq_topic(Topic.CONVERSIONS), 1)
    assert dead.value == refund.to_bytes()
    reason = dict(dead.headers)["x-crosslead-error"].decode()
    assert "nothing was won" in reason
    shop = await statement_when(client, KEYS[SHOP], [])
    assert shop["lines"] == []
