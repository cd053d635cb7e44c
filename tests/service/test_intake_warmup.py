"""The warm-up kit: partners' pitch cards, the operator's complementarity map, and the
cross-sell suggestions a partner's managers get from both."""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.intake import ADMIN, Intake, auth

pytestmark = [pytest.mark.schema("intake"), pytest.mark.sqlite_only]


def card(category: str = "installation", headline: str = "Fitted in a day") -> dict[str, Any]:
    return {
        "category": category,
        "headline": headline,
        "talking_points": ["Certified fitters", "Old windows taken away"],
    }


async def new_card(intake: Intake, partner: dict[str, Any], body: dict[str, Any]) -> str:
    response = await intake.client.post(
        "/v1/pitch-cards", headers=auth(partner["api_key"]), json=body
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_pitch_cards_are_private_drafts_until_published_to_agreed_partners(
    intake: Intake,
) -> None:
    fitter = await intake.partner("Fitters", ["installation", "repair"], ["berlin"])
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    stranger = await intake.partner("Roofers", ["roofing"], ["berlin"])
    await intake.agreement(shop, fitter)

    created = await intake.client.post(
        "/v1/pitch-cards", headers=auth(fitter["api_key"]), json=card()
    )
    assert created.status_code == 201
    shown = created.json()
    assert (shown["partner_id"], shown["status"], shown["published_at"]) == (
        fitter["id"],
        "draft",
        None,
    )
    assert shown["talking_points"] == ["Certified fitters", "Old windows taken away"]
    url = f"/v1/pitch-cards/{shown['id']}"

    for reader in (shop, stranger):
        draft = await intake.client.get(url, headers=auth(reader["api_key"]))
        assert draft.status_code == 404
    foreign_publish = await intake.client.post(f"{url}/publish", headers=auth(shop["api_key"]))
    assert foreign_publish.status_code == 404

    published = await intake.client.post(f"{url}/publish", headers=auth(fitter["api_key"]))
    assert published.status_code == 200
    assert published.json()["status"] == "published"
    again = await intake.client.post(f"{url}/publish", headers=auth(fitter["api_key"]))
    assert again.json() == published.json()
    assert (await intake.client.get(url, headers=auth(shop["api_key"]))).json() == again.json()
    assert (await intake.client.get(url, headers=auth(stranger["api_key"]))).status_code == 404
    assert (await intake.client.get(url, headers=ADMIN)).status_code == 200

    await new_card(intake, fitter, card("repair", "We fix what others fitted"))
    own = await intake.client.get("/v1/pitch-cards", headers=auth(fitter["api_key"]))
    assert [(c["category"], c["status"]) for c in own.json()["items"]] == [
        ("installation", "published"),
        ("repair", "draft"),
    ]
    assert (await intake.client.get("/v1/pitch-cards", headers=auth(shop["api_key"]))).json() == {
        "items": [],
        "next_cursor": None,
    }

    not_offered = await intake.client.post(
        "/v1/pitch-cards", headers=auth(fitter["api_key"]), json=card("roofing")
    )
    assert not_offered.status_code == 422
    assert not_offered.json()["errors"][0]["field"] == "category"
    too_many = await intake.client.post(
        "/v1/pitch-cards",
        headers=auth(fitter["api_key"]),
        json={**card(), "talking_points": ["point"] * 11},
    )
    assert too_many.json()["errors"][0]["field"] == "talking_points"
    as_admin = await intake.client.post("/v1/pitch-cards", headers=ADMIN, json=card())
    assert as_admin.status_code == 403


async def test_the_complementarity_map_is_the_operators(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    url = "/v1/complements/windows"
    assert (await intake.client.get(url, headers=ADMIN)).status_code == 404

    saved = await intake.client.put(url, headers=ADMIN, json=["installation", "financing"])
    assert saved.status_code == 200
    assert saved.json() == {"category": "windows", "complements": ["installation", "financing"]}
    read = await intake.client.get(url, headers=auth(shop["api_key"]))
    assert read.json() == saved.json()

    by_partner = await intake.client.put(url, headers=auth(shop["api_key"]), json=["doors"])
    assert by_partner.status_code == 403
    for body, field in [
        (["installation", "windows"], "body.1"),
        (["installation", "installation"], "body.1"),
        (["Not A Category"], "body.0"),
        ([""], "body.0"),
        (["x"] * 51, "body"),
        ({"installation": True}, "body"),
    ]:
        response = await intake.client.put(url, headers=ADMIN, json=body)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["field"] == field, response.json()
    bad_path = await intake.client.get("/v1/complements/NOPE!", headers=ADMIN)
    assert bad_path.status_code == 422
    assert (await intake.client.get(url, headers=ADMIN)).json() == saved.json()


async def test_cross_sell_suggests_cards_of_partners_that_take_the_callers_leads(
    intake: Intake,
) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    fitter = await intake.partner("Fitters", ["installation"], ["berlin"])
    unrelated = await intake.partner("Other fitters", ["installation"], ["berlin"])
    bank = await intake.partner("Bank", ["financing"], ["berlin"])
    await intake.agreement(shop, fitter)
    await intake.agreement(fitter, shop, categories=["windows"])  # the wrong way round for shop
    await intake.agreement(fitter, bank, categories=["financing"])
    await intake.client.put(
        "/v1/complements/windows", headers=ADMIN, json=["installation", "financing"]
    )
    cards = {}
    for owner, category in [(fitter, "installation"), (unrelated, "installation")]:
        card_id = await new_card(intake, owner, card(category))
        await intake.client.post(
            f"/v1/pitch-cards/{card_id}/publish", headers=auth(owner["api_key"])
        )
        cards[owner["id"]] = card_id
    await new_card(intake, bank, card("financing"))  # a draft is never suggested

    suggested = await intake.client.get(
        "/v1/cross-sell", params={"category": "windows"}, headers=auth(shop["api_key"])
    )
    assert suggested.status_code == 200
    assert [
        (s["need"], [c["id"] for c in s["pitch_cards"]]) for s in suggested.json()["suggestions"]
    ] == [("installation", [cards[fitter["id"]]]), ("financing", [])]
    nothing = await intake.client.get(
        "/v1/cross-sell", params={"category": "roofing"}, headers=auth(shop["api_key"])
    )
    assert nothing.json() == {"category": "roofing", "suggestions": []}
    missing = await intake.client.get("/v1/cross-sell", headers=auth(shop["api_key"]))
    assert missing.json()["errors"][0]["field"] == "category"


async def test_own_pitch_cards_are_listed_page_by_page(intake: Intake) -> None:
    fitter = await intake.partner("Fitters", ["installation"], ["berlin"])
    created = [await new_card(intake, fitter, card(headline=f"Card {n}")) for n in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    for expected in (2, 2, 1):
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await intake.client.get(
            "/v1/pitch-cards", headers=auth(fitter["api_key"]), params=params
        )
        assert page.status_code == 200, page.text
        assert len(page.json()["items"]) == expected
        seen += [c["id"] for c in page.json()["items"]]
        cursor = page.json()["next_cursor"]
    assert cursor is None
    assert seen == created  # every card once, oldest first

    bad = await intake.client.get(
        "/v1/pitch-cards", headers=auth(fitter["api_key"]), params={"cursor": "not-ours"}
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cursor"
