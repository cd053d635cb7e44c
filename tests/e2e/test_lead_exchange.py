"""The whole lead exchange through the public API, on real processes, a real broker and real
databases, with a partner's webhook receiver verifying every signature independently."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import Client, Partner, lead
from tests.support import eventually
from tests.support.webhooks import Receiver


async def statement_totals(client: Client, partner: Partner, lines: int) -> dict[str, Any]:
    """The partner's EUR totals, once its statement has ``lines`` lines."""

    async def settled() -> dict[str, Any] | None:
        response = await client.get("payouts", "/v1/statements", partner.auth)
        # Payouts learns of new partners from the event stream: 401 until it has.
        if response.status_code == 401 or len(response.json()["lines"]) < lines:
            return None
        body = response.json()
        return dict(next(t for t in body["currency_totals"] if t["currency"] == "EUR"))

    return await eventually(settled, timeout=30)


async def test_a_lead_travels_from_shop_to_installer_and_earns_commission(
    client: Client, receiver: tuple[Receiver, str]
) -> None:
    hooks, base_url = receiver
    shop = await client.partner("Window shop", ["windows"], ["berlin"])
    fitter = await client.partner("Berlin fitters", ["installation"], ["berlin"])
    faraway = await client.partner("Munich fitters", ["installation"], ["munich"])
    outsider = await client.partner("Outsider", ["installation"], ["berlin"])
    await client.agreement(shop, faraway)
    await client.agreement(shop, fitter)
    for partner in (fitter, faraway):
        await client.webhook_endpoint(partner, hooks, base_url)

    lead_id = await client.submit_lead(shop, region="berlin")

    [offer] = await eventually(lambda: hooks.offers_for(lead_id), timeout=30)
    assert offer.partner_id == fitter.id  # in the lead's region, not the one in munich
    assert hooks.rejected_signatures == 0
    data = offer.body["data"]
    assert offer.body["type"] == "lead.offered"
    assert data["source_partner"] == {"id": shop.id, "name": "Window shop"}
    assert "customer" not in data  # blind until accepted
    assert {"need", "region", "warmth", "manager", "accept_by"} <= data.keys()

    await client.accept(fitter, lead_id)
    won = {
        "lead_id": lead_id,
        "external_id": "deal-1",
        "status": "won",
        "amount": "1000.00",
        "currency": "EUR",
    }
    first = await client.http.post(
        client.url("intake", "/v1/conversions"), headers=fitter.auth, json=won
    )
    again = await client.http.post(
        client.url("intake", "/v1/conversions"), headers=fitter.auth, json=won
    )
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()

    shop_totals = await statement_totals(client, shop, lines=2)
    assert shop_totals == {
        "currency": "EUR",
        "earned": "100.00",
        "owed": "0.00",
        "manager_payable": "20.00",
        "net": "80.00",
    }
    fitter_totals = await statement_totals(client, fitter, lines=1)
    assert (fitter_totals["owed"], fitter_totals["net"]) == ("100.00", "-100.00")
    earnings = (await client.get("payouts", "/v1/managers/mgr-7/earnings", shop.auth)).json()
    assert earnings["totals"] == [{"currency": "EUR", "amount": "20.00"}]

    refund = await client.http.post(
        client.url("intake", "/v1/conversions"),
        headers=fitter.auth,
        json={**won, "external_id": "refund-1", "status": "refunded", "amount": "500.00"},
    )
    assert refund.status_code == 202
    shop_totals = await statement_totals(client, shop, lines=4)
    assert (shop_totals["earned"], shop_totals["manager_payable"]) == ("50.00", "10.00")
    fitter_totals = await statement_totals(client, fitter, lines=2)
    assert fitter_totals["owed"] == "50.00"  # the duplicate report counted once

    assert (await client.get("intake", f"/v1/leads/{lead_id}", outsider.auth)).status_code == 404
    assert hooks.offers_for(lead_id) == [offer]  # never offered twice, never to munich
    # The fitter, which reported the deal, also hears of the commission on it, signed.
    [accrued] = await eventually(
        lambda: hooks.offers_for(lead_id, "commission.accrued"), timeout=30
    )
    assert accrued.partner_id == fitter.id
    assert (accrued.body["data"]["commission"], accrued.body["data"]["currency"]) == (
        "100.00",
        "EUR",
    )

    types = await client.until_recorded(lead_id, "commission_reversed")
    lifecycle = [
        t for t in types if t in {"received", "routed", "delivered", "accepted", "converted"}
    ]
    assert lifecycle == ["received", "routed", "delivered", "accepted", "converted"]


async def test_only_the_partner_that_accepts_learns_the_contact(
    client: Client, receiver: tuple[Receiver, str]
) -> None:
    hooks, base_url = receiver
    shop = await client.partner("Window shop", ["windows"], ["berlin", "potsdam"])
    first = await client.partner("Berlin fitters", ["installation"], ["berlin"])
    second = await client.partner("Spree installers", ["installation"], ["berlin"])
    open_ = await client.partner("Potsdam fitters", ["installation"], ["potsdam"])
    await client.agreement(shop, first)
    await client.agreement(shop, second)
    shared = await client.agreement(shop, open_, share_contact="on_offer")
    assert shared["share_contact"] == "on_offer"
    for partner in (first, second, open_):
        await client.webhook_endpoint(partner, hooks, base_url)
    customer = {"name": "Ada Buyer", "phone": "+49 30 5550111", "email": "ada@example.com"}
    body = lead("berlin", customer["phone"]) | {"customer": customer}
    lead_id = (await client.submit(shop, body))["id"]

    async def seen_by(partner: Partner) -> dict[str, Any]:
        response = await client.get("intake", f"/v1/leads/{lead_id}", partner.auth)
        assert response.status_code == 200, response.text
        return dict(response.json())

    # Whichever installer is offered the lead first declines it; the other accepts it.
    [offer] = await eventually(lambda: hooks.offers_for(lead_id), timeout=30)
    decliner, taker = (first, second) if offer.partner_id == first.id else (second, first)
    assert "customer" not in offer.body["data"]
    assert {"need", "region", "warmth", "manager", "accept_by"} <= offer.body["data"].keys()
    await client.reject(decliner, lead_id)
    [_, again] = await eventually(
        lambda: hooks.offers_for(lead_id) if len(hooks.offers_for(lead_id)) == 2 else None,
        timeout=30,
    )
    assert (again.partner_id, "customer" in again.body["data"]) == (taker.id, False)
    assert (await seen_by(taker))["customer"] is None
    await client.accept(taker, lead_id)

    # Signed (the receiver verified it with standardwebhooks) and to the taker only.
    [contact] = await eventually(lambda: hooks.offers_for(lead_id, "lead.contact"), timeout=30)
    assert contact.partner_id == taker.id
    assert contact.body["data"] == {"lead_id": lead_id, "customer": customer}
    assert hooks.rejected_signatures == 0
    assert (await seen_by(taker))["customer"] == customer
    assert (await seen_by(shop))["customer"] == customer
    declined = await seen_by(decliner)
    assert (declined["status"], declined["customer"]) == ("rejected", None)
    assert hooks.requests[decliner.id], "the decliner was sent its offer"
    for request in hooks.requests[decliner.id]:
        for value in customer.values():
            assert value not in request.body.decode()

    # Under an agreement that shares the contact on offer, the offer carries it.
    other = {"name": "Ben Buyer", "phone": "+49 331 5550122", "email": "ben@example.com"}
    body = lead("potsdam", other["phone"]) | {"customer": other}
    shared_id = (await client.submit(shop, body))["id"]
    [open_offer] = await eventually(lambda: hooks.offers_for(shared_id), timeout=30)
    assert (open_offer.partner_id, open_offer.body["data"]["customer"]) == (open_.id, other)
