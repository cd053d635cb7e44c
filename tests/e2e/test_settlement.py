"""Settling up between two partners who refer each other, on real processes: their mutual
commissions net into one transfer, the leads show ``paid``, and a refund after the run is
carried forward as a negative amount until new commission nets it."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import Client, Partner
from tests.support import ADMIN
from tests.support.webhooks import Receiver


async def won_lead(
    client: Client, source: Partner, target: Partner, need: str, amount: str, phone: str
) -> str:
    """A lead from ``source`` that ``target`` accepts and wins for ``amount`` EUR."""
    lead_id = await client.submit_lead(source, phone=phone, need=need)
    await client.accept(target, lead_id)
    await client.report_deal(target, lead_id, f"deal-{lead_id}", "won", amount)
    return lead_id


async def payout_run(client: Client) -> dict[str, Any]:
    response = await client.http.post(
        client.url("payouts", "/v1/payout-runs"), headers=ADMIN, json={"currency": "EUR"}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def transfer(payer: Partner, payee: Partner, amount: str) -> dict[str, str]:
    return {
        "from_partner_id": payer.id,
        "to_partner_id": payee.id,
        "amount": amount,
        "currency": "EUR",
    }


async def test_mutual_commissions_net_into_one_transfer_and_a_later_refund_is_carried(
    client: Client, receiver: tuple[Receiver, str]
) -> None:
    hooks, base_url = receiver
    shop = await client.partner("Window shop", ["windows"], ["berlin"])
    fitter = await client.partner("Fitters", ["installation"], ["berlin"])
    await client.agreement(shop, fitter, categories=["installation"])
    await client.agreement(fitter, shop, categories=["windows"])
    for partner in (shop, fitter):
        await client.webhook_endpoint(partner, hooks, base_url)

    # The fitter owes the shop 10 % of 3000.00; the shop owes the fitter 10 % of 2000.00.
    to_fitter = await won_lead(client, shop, fitter, "installation", "3000.00", "+49 30 1")
    to_shop = await won_lead(client, fitter, shop, "windows", "2000.00", "+49 30 2")
    for lead_id in (to_fitter, to_shop):
        await client.until_recorded(lead_id, "commission_accrued")

    forbidden = await client.http.post(
        client.url("payouts", "/v1/payout-runs"), headers=shop.auth, json={"currency": "EUR"}
    )
    assert forbidden.status_code == 403

    run = await payout_run(client)
    assert run["transfers"] == [transfer(fitter, shop, "100.00")]
    assert sorted((m["partner_id"], m["amount"]) for m in run["manager_payouts"]) == sorted(
        [(shop.id, "60.00"), (fitter.id, "40.00")]
    )
    assert (await client.get("payouts", f"/v1/payout-runs/{run['id']}", ADMIN)).json() == run

    for lead_id in (to_fitter, to_shop):
        await client.until_recorded(lead_id, "paid")
        assert await client.lead_status(lead_id) == "paid"

    # The fitter refunds half of its deal after the run: the shop was paid 150.00 too much
    # (and its manager 30.00). The shop is not billed: the next run carries it as negative...
    await client.report_deal(fitter, to_fitter, "refund-1", "refunded", "1500.00")
    await client.until_recorded(to_fitter, "commission_reversed")
    carried = await payout_run(client)
    assert carried["transfers"] == []
    assert {
        (c["from_partner_id"], c["to_partner_id"], c["amount"]) for c in carried["carried_forward"]
    } == {(fitter.id, shop.id, "-150.00"), (shop.id, None, "-30.00")}

    # ... and the shop's next commission (200.00, its manager's share 40.00) nets it.
    again = await won_lead(client, shop, fitter, "installation", "2000.00", "+49 30 3")
    await client.until_recorded(again, "commission_accrued")
    netted = await payout_run(client)
    assert netted["transfers"] == [transfer(fitter, shop, "50.00")]
    assert [(m["partner_id"], m["amount"]) for m in netted["manager_payouts"]] == [
        (shop.id, "10.00")
    ]
    assert netted["carried_forward"] == []
