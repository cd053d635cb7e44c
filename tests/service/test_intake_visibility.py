"""Each party sees only its own: a partner a lead was offered to sees the facts of its own offer
and deals, never another partner's id, agreement, deadline, rejection reason or deal; the
source and the operator see everything."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from crosslead_common.events import CommissionAccrued, LeadExpired, PayoutSettled
from tests.service.intake import ADMIN, Intake, auth, lead_body
from tests.service.test_intake_lifecycle import apply, routed

pytestmark = pytest.mark.schema("intake")


async def seen_by(intake: Intake, lead_id: str, partner: dict[str, Any] | None) -> dict[str, Any]:
    headers = ADMIN if partner is None else auth(partner["api_key"])
    response = await intake.client.get(f"/v1/leads/{lead_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_target_sees_only_its_own_offer_and_deals(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    first = await intake.partner("Fitters", ["installation"], ["berlin"])
    second = await intake.partner("Installers", ["installation"], ["berlin"])
    to_first = (await intake.agreement(shop, first))["id"]
    to_second = (await intake.agreement(shop, second))["id"]
    lead_id = await intake.lead(shop)
    await apply(intake, routed(lead_id, shop, first, to_first, hop=1), 2)
    await intake.client.post(
        f"/v1/leads/{lead_id}/reject",
        headers=auth(first["api_key"]),
        json={"reason": "too far away"},
    )
    await apply(intake, routed(lead_id, shop, second, to_second, hop=2), 4)
    await intake.client.post(f"/v1/leads/{lead_id}/accept", headers=auth(second["api_key"]))
    won = await intake.won(second, lead_id, "7345.00")
    assert won.status_code == 202, won.text
    money = {
        "source_partner_id": shop["id"],
        "target_partner_id": second["id"],
        "commission": Decimal("734.50"),
        "manager_amount": Decimal("146.90"),
        "currency": "EUR",
    }
    accrued = CommissionAccrued(
        lead_id=lead_id, conversion_id=won.json()["id"], manager_id="mgr-7", **money
    )
    await apply(intake, accrued, 7)
    await apply(intake, PayoutSettled(payout_run_id="run_1", lead_id=lead_id, **money), 8)

    everything = ["received", "routed", "rejected", "routed", "accepted", "converted"]
    everything += ["commission_accrued", "paid"]
    for party in (None, shop):
        lead = await seen_by(intake, lead_id, party)
        assert [e["type"] for e in lead["timeline"]] == everything
        assert (lead["status"], lead["target_partner_id"]) == ("paid", second["id"])
        assert lead["timeline"][2]["reason"] == "too far away"

    declined = await seen_by(intake, lead_id, first)
    assert [e["type"] for e in declined["timeline"]] == ["received", "routed", "rejected"]
    assert (declined["status"], declined["target_partner_id"]) == ("rejected", None)
    assert declined["timeline"][1]["agreement_id"] == to_first
    text = json.dumps(declined)
    for secret in (second["id"], to_second, "7345", "734.5", "deal-1"):
        assert secret not in text

    winner = await seen_by(intake, lead_id, second)
    assert [e["type"] for e in winner["timeline"]] == [
        "received",
        "routed",
        "accepted",
        "converted",
        "commission_accrued",
        "paid",
    ]
    assert (winner["status"], winner["target_partner_id"]) == ("paid", second["id"])
    assert winner["timeline"][3]["amount"] == "7345.00"
    text = json.dumps(winner)
    for secret in (first["id"], to_first, "too far away"):
        assert secret not in text


async def test_duplicate_of_names_only_the_callers_own_lead(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    doors = await intake.partner("Door shop", ["doors"], ["berlin"])
    original = await intake.lead(shop)

    theirs = await intake.client.post("/v1/leads", headers=auth(doors["api_key"]), json=lead_body())
    assert theirs.json() == {"id": theirs.json()["id"], "status": "duplicate"}
    as_doors = await seen_by(intake, theirs.json()["id"], doors)
    assert (as_doors["status"], as_doors["duplicate_of"]) == ("duplicate", None)
    assert original not in json.dumps(as_doors)
    as_operator = await seen_by(intake, theirs.json()["id"], None)
    assert as_operator["duplicate_of"] == original
    assert as_operator["timeline"][0]["duplicate_of"] == original

    mine = await intake.client.post("/v1/leads", headers=auth(shop["api_key"]), json=lead_body())
    assert mine.json()["duplicate_of"] == original
    assert (await seen_by(intake, mine.json()["id"], shop))["duplicate_of"] == original


async def test_the_customer_is_shown_to_a_target_only_once_it_accepted(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    decliner = await intake.partner("Fitters", ["installation"], ["berlin"])
    sleeper = await intake.partner("Sleepy fitters", ["installation"], ["berlin"])
    taker = await intake.partner("Installers", ["installation"], ["berlin"])
    agreements = [
        (await intake.agreement(shop, p, share_contact="on_accept"))["id"]
        for p in (decliner, sleeper, taker)
    ]
    customer = {"name": "Ada Buyer", "phone": "+49 30 1234567", "email": "ada@example.com"}
    lead_id = await intake.lead(shop, customer=customer)
    for party in (None, shop):
        assert (await seen_by(intake, lead_id, party))["customer"] == customer

    await apply(intake, routed(lead_id, shop, decliner, agreements[0], hop=1), 2)
    offered = await seen_by(intake, lead_id, decliner)
    assert (offered["status"], offered["customer"]) == ("routed", None)
    rejected = await intake.client.post(
        f"/v1/leads/{lead_id}/reject", headers=auth(decliner["api_key"])
    )
    assert rejected.status_code == 202, rejected.text
    await apply(intake, routed(lead_id, shop, sleeper, agreements[1], hop=2), 4)
    await apply(
        intake,
        LeadExpired(
            lead_id=lead_id,
            target_partner_id=sleeper["id"],
            accept_by=datetime.now(UTC),
        ),
        5,
    )
    await apply(intake, routed(lead_id, shop, taker, agreements[2], hop=3), 6)
    assert (await seen_by(intake, lead_id, taker))["customer"] is None
    accepted = await intake.client.post(
        f"/v1/leads/{lead_id}/accept", headers=auth(taker["api_key"])
    )
    assert accepted.status_code == 202, accepted.text

    taken = await seen_by(intake, lead_id, taker)
    assert (taken["status"], taken["customer"]) == ("accepted", customer)
    won = await intake.won(taker, lead_id, "100.00")
    assert won.status_code == 202, won.text
    assert (await seen_by(intake, lead_id, taker))["customer"] == customer
    for party in (None, shop):
        assert (await seen_by(intake, lead_id, party))["customer"] == customer
    for former, status in ((decliner, "rejected"), (sleeper, "expired")):
        lead = await seen_by(intake, lead_id, former)
        assert (lead["status"], lead["customer"]) == (status, None)
        text = json.dumps(lead)
        for value in customer.values():
            assert value not in text
