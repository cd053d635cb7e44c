"""Routing by the laws of partner sales, on real processes, a real broker and real databases:
capacity across two router replicas, one partner at a time with re-routing, waiting for a
paused partner, and duplicates that are never offered."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from tests.e2e.harness import Client, Partner, lead
from tests.support import eventually
from tests.support.webhooks import Offer, Receiver


def offers(hooks: Receiver, kind: str = "lead.offered") -> list[Offer]:
    return [o for o in hooks.offers if o.body["type"] == kind]


async def decisions(client: Client, lead_id: str, reader: Partner) -> list[dict[str, Any]]:
    response = await client.get("router", f"/v1/routing/decisions?lead_id={lead_id}", reader.auth)
    assert response.status_code == 200, response.text
    return list(response.json()["decisions"])


async def test_no_partner_gets_more_than_its_capacity_with_two_router_replicas(
    client: Client, receiver: tuple[Receiver, str]
) -> None:
    hooks, base_url = receiver
    await asyncio.to_thread(client.stack.start_replica, "router", "router-2")
    shop = await client.partner("Window shop", ["windows"], ["berlin"])
    fitters = {
        capacity: await client.partner(
            f"Fitter {capacity}", ["installation"], ["berlin"], capacity_per_day=capacity
        )
        for capacity in (1, 3)
    }
    for fitter in fitters.values():
        await client.agreement(shop, fitter)
        await client.webhook_endpoint(fitter, hooks, base_url)

    leads = await asyncio.gather(
        *(client.submit_lead(shop, phone=f"+49 30 555{n:04d}") for n in range(5))
    )

    async def all_decided() -> list[str] | None:
        statuses = [await client.lead_status(lead_id) for lead_id in leads]
        return None if {"received", "routed"} & set(statuses) else statuses

    statuses = await eventually(all_decided, timeout=60)
    received = Counter(offer.partner_id for offer in offers(hooks))
    assert received == {fitters[1].id: 1, fitters[3].id: 3}  # each exactly up to its capacity
    assert sorted(statuses) == ["delivered"] * 4 + ["waiting"]

    [waiting] = [lead_id for lead_id, s in zip(leads, statuses, strict=True) if s == "waiting"]
    [decision] = await decisions(client, waiting, shop)
    assert decision["outcome"] == "waiting"
    assert {(e["partner_id"], e["reason"]) for e in decision["excluded"]} >= {
        (fitters[1].id, "capacity"),
        (fitters[3].id, "capacity"),
    }


async def test_a_rejected_or_unanswered_lead_moves_on_until_the_hops_run_out(
    client: Client, receiver: tuple[Receiver, str]
) -> None:
    hooks, base_url = receiver
    shop = await client.partner("Window shop", ["windows"], ["berlin"])
    fitters = {}
    for n in range(4):
        fitter = await client.partner(f"Fitter {n}", ["installation"], ["berlin"])
        await client.agreement(shop, fitter, accept_within_seconds=2)
        await client.webhook_endpoint(fitter, hooks, base_url)
        fitters[fitter.id] = fitter

    lead_id = await client.submit_lead(shop)

    def offered(count: int) -> list[Offer] | None:
        made = [o for o in offers(hooks) if o.body["data"]["lead_id"] == lead_id]
        return made if len(made) >= count else None

    [first] = await eventually(lambda: offered(1), timeout=30)
    await client.reject(fitters[first.partner_id], lead_id)
    second = (await eventually(lambda: offered(2), timeout=30))[1]
    assert second.partner_id != first.partner_id  # the next candidate, not the one who said no

    # The second one never answers: after its deadline it is told the offer is withdrawn, and
    # the lead goes to a third partner.
    [withdrawn] = await eventually(lambda: offers(hooks, "lead.withdrawn"), timeout=30)
    assert withdrawn.partner_id == second.partner_id
    assert withdrawn.body["data"]["lead_id"] == lead_id
    third = (await eventually(lambda: offered(3), timeout=30))[2]
    assert third.partner_id not in {first.partner_id, second.partner_id}

    await client.reject(fitters[third.partner_id], lead_id)
    await client.until_status(lead_id, "unroutable")  # three hops, although one is left
    assert len(offered(1) or []) == 3

    made = await decisions(client, lead_id, shop)
    assert [d["outcome"] for d in made] == ["routed", "routed", "routed", "unroutable"]
    assert [d["chosen_partner_id"] for d in made[:3]] == [
        first.partner_id,
        second.partner_id,
        third.partner_id,
    ]
    assert {(e["partner_id"], e["reason"]) for e in made[1]["excluded"]} >= {
        (first.partner_id, "already_offered")
    }
    timeline = (await client.lead(lead_id))["timeline"]
    lifecycle = [e["type"] for e in timeline if e["type"] in {"routed", "rejected", "expired"}]
    assert lifecycle == ["routed", "rejected", "routed", "expired", "routed", "rejected"]
    # Another partner than the source cannot read why the router chose.
    foreign = await client.get(
        "router", f"/v1/routing/decisions?lead_id={lead_id}", fitters[first.partner_id].auth
    )
    assert foreign.status_code == 404


async def test_a_paused_partners_lead_waits_and_a_duplicate_is_never_offered(
    client: Client, receiver: tuple[Receiver, str]
) -> None:
    hooks, base_url = receiver
    shop = await client.partner("Window shop", ["windows"], ["berlin"])
    other_shop = await client.partner("Other shop", ["doors"], ["berlin"])
    fitter = await client.partner("Fitter", ["installation"], ["berlin"], paused=True)
    await client.agreement(shop, fitter)
    await client.agreement(other_shop, fitter)
    await client.webhook_endpoint(fitter, hooks, base_url)

    lead_id = await client.submit_lead(shop, phone="+49 30 5550100")
    await client.until_status(lead_id, "waiting")
    assert offers(hooks) == []

    # The same customer for the same need, written differently, from another partner.
    duplicate = await client.submit(other_shop, lead("berlin", phone="+49 (30) 555-0100"))
    # The original is another partner's lead: its id is not the other shop's business.
    assert duplicate == {"id": duplicate["id"], "status": "duplicate"}

    resumed = await client.http.patch(
        client.url("intake", f"/v1/partners/{fitter.id}"),
        headers=fitter.auth,
        json={"paused": False},
    )
    assert resumed.status_code == 200, resumed.text
    [offer] = await eventually(lambda: offers(hooks), timeout=30)
    assert offer.body["data"]["lead_id"] == lead_id
    await client.until_status(lead_id, "delivered")

    body = (await client.get("intake", f"/v1/leads/{duplicate['id']}", other_shop.auth)).json()
    assert (body["status"], body["duplicate_of"]) == ("duplicate", None)
    # Had the duplicate been waiting too, un-pausing would have released it with the original.
    await asyncio.sleep(1)
    assert [o.body["data"]["lead_id"] for o in offers(hooks)] == [lead_id]
