"""The payouts service on real databases: conversions in, ledger and statements out,
commission events published."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from crosslead_common.auth import new_api_key
from crosslead_common.events import Envelope, Topic
from tests.support import ADMIN_TOKEN, bearer
from tests.support.payouts import (
    INSTALLER,
    KEYS,
    SHOP,
    conversion,
    partner,
    statement_when,
    totals,
)
from tests.support.services import Service, in_process

pytestmark = pytest.mark.schema("payouts")


@pytest.fixture
async def payouts(database_url: str) -> AsyncIterator[Service]:
    async with in_process("payouts", database_url) as service:
        yield service


def lines(statement: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [
        (line["lead_id"], line["kind"], line["amount"], line["counterparty_partner_id"])
        for line in statement["lines"]
    ]


async def test_won_deal_accrues_once_and_a_refund_reverses_in_proportion(
    payouts: Service,
) -> None:
    client = payouts.client
    won = conversion("lead_1", "won", "1000.00")
    won_envelope = Envelope.wrap(won, source="test")
    # The same event delivered twice, and the same conversion under another event id.
    await payouts.deliver(partner(SHOP), partner(INSTALLER), won_envelope, won_envelope, won)

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

    await payouts.deliver(conversion("lead_1", "refunded", "500.00"))
    shop = await statement_when(client, KEYS[SHOP], totals("50.00", "0.00", "10.00", "40.00"))
    assert lines(shop)[2:] == [
        ("lead_1", "commission_earned", "-50.00", INSTALLER),
        ("lead_1", "manager_payable", "-10.00", INSTALLER),
    ]
    await statement_when(client, KEYS[INSTALLER], totals("0.00", "50.00", "0.00", "-50.00"))
    earnings = await client.get("/v1/managers/m-1/earnings", headers=bearer(ADMIN_TOKEN))
    assert earnings.json()["totals"] == [{"currency": "EUR", "amount": "10.00"}]

    published = await payouts.outbox(Topic.COMMISSIONS)
    assert [(e.type, e.subject) for e in published] == [
        ("crosslead.commission.accrued.v1", "lead_1"),
        ("crosslead.commission.reversed.v1", "lead_1"),
    ]
    assert [(e.data["commission"], e.data["manager_amount"]) for e in published] == [
        ("100.00", "20.00"),
        ("50.00", "10.00"),
    ]
    assert published[0].data["conversion_id"] == won.conversion_id


@pytest.mark.sqlite_only
async def test_partners_see_only_their_own_money_and_managers_are_scoped_to_partners(
    payouts: Service,
) -> None:
    client = payouts.client
    # Both partners have a manager called m-1; each refers a lead to the other.
    await payouts.deliver(
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
