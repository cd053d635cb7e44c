"""The lists the console pages read: partners (operator), agreements (operator, or the ones a
partner is party to), leads (operator: all; a partner: sent or received, a received lead as
that partner sees it) and lead counts by status; each paged by cursor, bad filters refused
with the field named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.service.intake import ADMIN, Intake, auth
from tests.service.test_intake_lifecycle import apply, routed

pytestmark = pytest.mark.schema("intake")


async def all_pages(
    intake: Intake, path: str, headers: dict[str, str], limit: int, **params: str
) -> list[list[dict[str, Any]]]:
    """Every page of a list, following ``next_cursor``."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        query = {"limit": str(limit), **params, **({"cursor": cursor} if cursor else {})}
        response = await intake.client.get(path, headers=headers, params=query)
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return pages


def customer(n: int) -> dict[str, str]:
    """A customer of their own, so that no lead is a duplicate of another."""
    return {"name": f"Customer {n}", "phone": f"+49 30 555000{n}"}


def ids(pages: list[list[dict[str, Any]]]) -> list[str]:
    return [item["id"] for page in pages for item in page]


async def refused_field(intake: Intake, path: str, headers: dict[str, str], **params: str) -> str:
    response = await intake.client.get(path, headers=headers, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(response.json()["errors"][0]["field"])


async def test_the_operator_pages_through_every_partner_and_partners_may_not(
    intake: Intake,
) -> None:
    created = [await intake.partner(f"Partner {n}", ["installation"], ["berlin"]) for n in range(5)]
    pages = await all_pages(intake, "/v1/partners", ADMIN, limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert ids(pages) == [p["id"] for p in created]  # every partner once, oldest first
    first = pages[0][0]
    assert {k: first[k] for k in ("name", "offers", "regions", "paused")} == {
        "name": "Partner 0",
        "offers": ["installation"],
        "regions": ["berlin"],
        "paused": False,
    }
    assert "api_key" not in first
    assert "created_at" in first

    as_partner = await intake.client.get("/v1/partners", headers=auth(created[0]["api_key"]))
    assert as_partner.status_code == 403
    assert await refused_field(intake, "/v1/partners", ADMIN, cursor="not-ours") == "cursor"
    assert await refused_field(intake, "/v1/partners", ADMIN, limit="0") == "limit"


async def test_agreements_list_for_the_operator_and_each_party(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    fitter = await intake.partner("Fitters", ["installation"], ["berlin"])
    roofer = await intake.partner("Roofers", ["roofing"], ["berlin"])
    shop_fitter = await intake.agreement(shop, fitter)
    fitter_shop = await intake.agreement(fitter, shop)
    roofer_fitter = await intake.agreement(roofer, fitter)
    ended = await intake.client.post(f"/v1/agreements/{shop_fitter['id']}/end", headers=ADMIN)
    assert ended.status_code == 200

    every = [shop_fitter["id"], fitter_shop["id"], roofer_fitter["id"]]
    assert ids(await all_pages(intake, "/v1/agreements", ADMIN, limit=2)) == every
    of_roofer = await all_pages(intake, "/v1/agreements", ADMIN, 50, partner_id=roofer["id"])
    assert ids(of_roofer) == [roofer_fitter["id"]]
    # A partner sees those it is party to, ended ones too, and no one else's.
    shops = await all_pages(intake, "/v1/agreements", auth(shop["api_key"]), limit=1)
    assert ids(shops) == [shop_fitter["id"], fitter_shop["id"]]
    assert shops[0][0]["ended_at"] is not None
    fitters = await all_pages(intake, "/v1/agreements", auth(fitter["api_key"]), limit=50)
    assert ids(fitters) == every
    # Naming another partner narrows to the agreements with it, never widens.
    peeking = await all_pages(
        intake, "/v1/agreements", auth(shop["api_key"]), 50, partner_id=roofer["id"]
    )
    assert ids(peeking) == []
    assert (
        await refused_field(intake, "/v1/agreements", auth(shop["api_key"]), cursor="x") == "cursor"
    )


async def test_leads_list_sent_and_received_each_as_its_partner_sees_them(
    intake: Intake,
) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    first = await intake.partner("Fitters", ["installation"], ["berlin"])
    second = await intake.partner("Installers", ["installation"], ["berlin"])
    to_first = (await intake.agreement(shop, first))["id"]
    to_second = (await intake.agreement(shop, second))["id"]
    moved_on = await intake.lead(shop, external_id="crm-1", customer=customer(1))
    fresh = await intake.lead(shop, customer=customer(2))
    await apply(intake, routed(moved_on, shop, first, to_first, hop=1), 2)
    rejected = await intake.client.post(
        f"/v1/leads/{moved_on}/reject", headers=auth(first["api_key"]), json={"reason": "far"}
    )
    assert rejected.status_code == 202
    await apply(intake, routed(moved_on, shop, second, to_second, hop=2), 4)

    sent = await all_pages(intake, "/v1/leads", auth(shop["api_key"]), limit=1, role="sent")
    assert ids(sent) == [fresh, moved_on]  # newest first
    assert sent[1][0]["status"] == "routed"
    assert sent[1][0]["target_partner_id"] == second["id"]
    assert sent[1][0]["external_id"] == "crm-1"
    assert "customer" not in sent[1][0]
    assert "timeline" not in sent[1][0]
    default = await all_pages(intake, "/v1/leads", auth(shop["api_key"]), limit=50)
    assert ids(default) == [fresh, moved_on]

    # The first target sees its own answer and no one else's id, as on the lead's page.
    [[seen]] = await all_pages(
        intake, "/v1/leads", auth(first["api_key"]), limit=50, role="received"
    )
    single = await intake.client.get(f"/v1/leads/{moved_on}", headers=auth(first["api_key"]))
    assert (seen["id"], seen["status"], seen["target_partner_id"]) == (moved_on, "rejected", None)
    assert (single.json()["status"], single.json()["target_partner_id"]) == ("rejected", None)
    [[current]] = await all_pages(
        intake, "/v1/leads", auth(second["api_key"]), limit=50, role="received"
    )
    assert (current["status"], current["target_partner_id"]) == ("routed", second["id"])
    # The status filter applies to what the partner sees.
    assert (
        ids(
            await all_pages(
                intake, "/v1/leads", auth(first["api_key"]), 50, role="received", status="routed"
            )
        )
        == []
    )
    assert ids(
        await all_pages(
            intake, "/v1/leads", auth(first["api_key"]), 50, role="received", status="rejected"
        )
    ) == [moved_on]
    assert ids(await all_pages(intake, "/v1/leads", auth(first["api_key"]), 50)) == []

    # The operator sees every lead, filtered by status and time.
    assert ids(await all_pages(intake, "/v1/leads", ADMIN, limit=1)) == [fresh, moved_on]
    assert ids(await all_pages(intake, "/v1/leads", ADMIN, 50, status="routed")) == [moved_on]
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert ids(await all_pages(intake, "/v1/leads", ADMIN, 50, since=later)) == []


async def test_bad_lead_filters_are_refused_naming_the_field(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    mine = auth(shop["api_key"])
    assert await refused_field(intake, "/v1/leads", mine, role="everyone") == "role"
    assert await refused_field(intake, "/v1/leads", mine, status="lost") == "status"
    assert await refused_field(intake, "/v1/leads", mine, since="yesterday") == "since"
    assert await refused_field(intake, "/v1/leads", mine, cursor="bogus") == "cursor"
    assert await refused_field(intake, "/v1/leads", ADMIN, role="sent") == "role"
    assert await refused_field(intake, "/v1/leads/stats", mine, window="1y") == "window"


async def test_lead_counts_by_status_for_the_operator_and_a_source(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    other = await intake.partner("Door shop", ["doors"], ["berlin"])
    fitter = await intake.partner("Fitters", ["installation"], ["berlin"])
    agreement = (await intake.agreement(shop, fitter))["id"]
    routed_id = await intake.lead(shop, customer=customer(1))
    await intake.lead(shop, customer=customer(2))
    await intake.lead(other, customer=customer(3))
    await apply(intake, routed(routed_id, shop, fitter, agreement, hop=1), 2)

    everyone = await intake.client.get("/v1/leads/stats", headers=ADMIN, params={"window": "7d"})
    assert everyone.status_code == 200, everyone.text
    assert everyone.json()["window"] == "7d"
    assert everyone.json()["total"] == 3
    assert everyone.json()["counts"] == {"routed": 1, "received": 2}
    since = datetime.fromisoformat(everyone.json()["since"])
    assert timedelta(days=7) - timedelta(minutes=5) < datetime.now(UTC) - since
    shops = await intake.client.get("/v1/leads/stats", headers=auth(shop["api_key"]))
    assert shops.json()["window"] == "24h"  # the default
    assert (shops.json()["total"], shops.json()["counts"]) == (2, {"routed": 1, "received": 1})
    fitters = await intake.client.get("/v1/leads/stats", headers=auth(fitter["api_key"]))
    assert (fitters.json()["total"], fitters.json()["counts"]) == (0, {})
