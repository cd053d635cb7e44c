"""The partner health report: leads sent and received per pair, acceptance and conversion,
lopsided pairs, and partners that live off one source."""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest

from tests.service.intake import (
    ADMIN,
    Intake,
    auth,
    route,
)

pytestmark = pytest.mark.schema("intake")


class Exchange:
    """Partners passing leads to each other through the real intake API and routing events."""

    def __init__(self, intake: Intake) -> None:
        self.intake = intake
        self.agreements: dict[tuple[str, str], str] = {}
        self.customers = count(1)

    async def agree(self, source: dict[str, Any], target: dict[str, Any]) -> None:
        agreement = await self.intake.agreement(source, target)
        self.agreements[source["id"], target["id"]] = agreement["id"]

    async def send(
        self,
        source: dict[str, Any],
        *offers: dict[str, Any],
        accept: bool = False,
        win: bool = False,
    ) -> None:
        """A new customer's lead from ``source``, offered to each of ``offers`` in turn (all but
        the last reject it); the last accepts it and wins a deal if asked to."""
        customer = {"name": "Customer", "phone": f"+49 30 {next(self.customers):07d}"}
        lead_id = await self.intake.lead(source, customer=customer)
        for i, target in enumerate(offers):
            agreement = self.agreements[source["id"], target["id"]]
            await route(self.intake, lead_id, source["id"], target["id"], agreement)
            if i < len(offers) - 1:
                await self.answer(target, lead_id, "reject")
        last = offers[-1]
        if accept or win:
            await self.answer(last, lead_id, "accept")
        if win:
            deal = {"lead_id": lead_id, "external_id": "d", "status": "won", "amount": "100"}
            response = await self.intake.client.post(
                "/v1/conversions", headers=auth(last["api_key"]), json=deal | {"currency": "EUR"}
            )
            assert response.status_code == 202

    async def answer(self, partner: dict[str, Any], lead_id: str, how: str) -> None:
        url = f"/v1/leads/{lead_id}/{how}"
        response = await self.intake.client.post(url, headers=auth(partner["api_key"]))
        assert response.status_code == 202


def flow(sent: int, accepted: int, converted: int) -> dict[str, Any]:
    def rate(part: int) -> str | None:
        return f"{part / sent:.4f}" if sent else None

    return {
        "sent": sent,
        "accepted": accepted,
        "converted": converted,
        "acceptance_rate": rate(accepted),
        "conversion_rate": rate(converted),
    }


def pair(
    a: dict[str, Any], b: dict[str, Any], a_to_b: dict[str, Any], b_to_a: dict[str, Any]
) -> dict[str, Any]:
    """The report's entry for a pair, whichever way round its ids sort."""
    if a["id"] > b["id"]:
        a, b, a_to_b, b_to_a = b, a, b_to_a, a_to_b
    return {"partner_a": a["id"], "partner_b": b["id"], "a_to_b": a_to_b, "b_to_a": b_to_a}


async def test_pairs_and_partners_are_reported_to_each_side_and_the_operator(
    intake: Intake,
) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    fitter = await intake.partner("Fitters", ["installation"], ["berlin"])
    other = await intake.partner("Other fitters", ["installation"], ["berlin"])
    doors = await intake.partner("Door shop", ["doors"], ["berlin"])
    exchange = Exchange(intake)
    for source, target in [(shop, fitter), (shop, other), (fitter, shop), (doors, fitter)]:
        await exchange.agree(source, target)
    await exchange.send(shop, fitter, win=True)
    await exchange.send(shop, fitter, win=True)
    await exchange.send(shop, fitter, accept=True)
    await exchange.send(shop, other, fitter)  # rejected by the other fitters first
    await exchange.send(fitter, shop)
    await exchange.send(doors, fitter, win=True)

    shop_fitter = pair(shop, fitter, flow(4, 3, 2), flow(1, 0, 0))
    shop_other = pair(shop, other, flow(1, 0, 0), flow(0, 0, 0))
    doors_fitter = pair(doors, fitter, flow(1, 1, 1), flow(0, 0, 0))

    def pairs(report: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {k: p[k] for k in ("partner_a", "partner_b", "a_to_b", "b_to_a")}
            for p in report["pairs"]
        ]

    as_admin = (await intake.client.get("/v1/reports/partners", headers=ADMIN)).json()
    assert [w["window_days"] for w in as_admin["windows"]] == [30, 90]
    month = as_admin["windows"][0]
    expected = sorted(
        [shop_fitter, shop_other, doors_fitter], key=lambda p: (p["partner_a"], p["partner_b"])
    )
    assert pairs(month) == expected
    by_pair = {(p["partner_a"], p["partner_b"]): p for p in month["pairs"]}
    lopsided = by_pair[shop_fitter["partner_a"], shop_fitter["partner_b"]]
    assert (lopsided["volume_ratio"], lopsided["imbalanced"]) == ("4.00", True)
    one_way = by_pair[doors_fitter["partner_a"], doors_fitter["partner_b"]]
    assert (one_way["volume_ratio"], one_way["imbalanced"]) == (None, True)
    assert month["partners"] == [
        {
            "partner_id": fitter["id"],
            "won_deals": 3,
            "top_source_partner_id": shop["id"],
            "top_source_deals": 2,
            "agent_like": True,
        }
    ]

    as_shop = await intake.client.get(
        "/v1/reports/partners", params={"window_days": 30}, headers=auth(shop["api_key"])
    )
    [shop_month] = as_shop.json()["windows"]
    assert pairs(shop_month) == [p for p in expected if shop["id"] in p.values()]
    assert shop_month["partners"] == []  # the shop won no deals; others' health is theirs
    as_fitter = await intake.client.get(
        "/v1/reports/partners", params={"window_days": 90}, headers=auth(fitter["api_key"])
    )
    [fitter_quarter] = as_fitter.json()["windows"]
    assert pairs(fitter_quarter) == [p for p in expected if fitter["id"] in p.values()]
    assert [p["partner_id"] for p in fitter_quarter["partners"]] == [fitter["id"]]

    for wrong in ("7", "abc", "", "1e999"):
        response = await intake.client.get(
            "/v1/reports/partners", params={"window_days": wrong}, headers=ADMIN
        )
        assert response.status_code == 422, wrong
        assert response.json()["errors"][0]["field"] == "window_days"
