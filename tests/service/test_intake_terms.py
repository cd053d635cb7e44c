"""Partners' routing settings, agreement terms and consent scope: what is stored, shown and
published, and how bad values are refused with the field at fault."""

from __future__ import annotations

from typing import Any

import pytest

from crosslead_common.events import Topic
from tests.service.intake import (
    ADMIN,
    Intake,
    auth,
    lead_body,
    route,
)

pytestmark = pytest.mark.schema("intake")


AVAILABILITY = {
    "timezone": "Europe/Berlin",
    "weekdays": [5, 1, 2],
    "start": "08:00",
    "end": "17:30",
}


async def refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]], response.json()


async def test_routing_settings_are_shown_published_and_patchable(intake: Intake) -> None:
    fitter = await intake.partner(
        "Fitters",
        ["installation"],
        ["berlin"],
        capacity_per_day=20,
        capacity_per_hour=4,
        availability=AVAILABILITY,
    )
    assert fitter["availability"] == {**AVAILABILITY, "weekdays": [1, 2, 5]}
    assert (fitter["capacity_per_hour"], fitter["paused"]) == (4, False)
    other = await intake.partner("Others", ["roofing"], ["berlin"])
    url = f"/v1/partners/{fitter['id']}"

    patched = await intake.client.patch(
        url,
        headers=auth(fitter["api_key"]),
        json={"paused": True, "availability": None, "offers": ["repair", "installation"]},
    )
    assert patched.status_code == 200, patched.text
    shown = (await intake.client.get(url, headers=ADMIN)).json()
    assert shown == patched.json()
    assert (shown["paused"], shown["availability"], shown["offers"]) == (
        True,
        None,
        ["installation", "repair"],
    )
    assert shown["capacity_per_day"] == 20  # untouched

    foreign = await intake.client.patch(url, headers=auth(other["api_key"]), json={"paused": True})
    assert foreign.status_code == 404
    by_admin = await intake.client.patch(url, headers=ADMIN, json={"capacity_per_hour": None})
    assert by_admin.json()["capacity_per_hour"] is None

    events = await intake.published(Topic.PARTNERS, 4)
    registered = next(e for e in events if e.subject == fitter["id"])
    assert registered.data["availability"] == {
        "timezone": "Europe/Berlin",
        "weekdays": [1, 2, 5],
        "start": "08:00:00",
        "end": "17:30:00",
    }
    updates = [e.data for e in events if e.type == "crosslead.partner.updated.v1"]
    assert [(u["paused"], u["capacity_per_hour"]) for u in updates] == [(True, 4), (True, None)]
    assert updates[0]["offers"] == ["installation", "repair"]


@pytest.mark.sqlite_only
async def test_bad_routing_settings_are_refused_with_the_field(intake: Intake) -> None:
    fitter = await intake.partner("Fitters", ["installation"], ["berlin"], capacity_per_day=5)
    base = {"name": "New", "offers": ["a"], "regions": ["b"]}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"availability": {**AVAILABILITY, "timezone": "Mars/Olympus"}}, "availability.timezone"),
        ({"availability": {**AVAILABILITY, "timezone": "../etc/passwd"}}, "availability.timezone"),
        ({"availability": {**AVAILABILITY, "weekdays": [0]}}, "availability.weekdays.0"),
        ({"availability": {**AVAILABILITY, "weekdays": [8]}}, "availability.weekdays.0"),
        ({"availability": {**AVAILABILITY, "weekdays": [1, 1]}}, "availability.weekdays"),
        ({"availability": {**AVAILABILITY, "weekdays": []}}, "availability.weekdays"),
        ({"availability": {**AVAILABILITY, "start": "8:00"}}, "availability.start"),
        ({"availability": {**AVAILABILITY, "end": "24:00"}}, "availability.end"),
        ({"availability": {**AVAILABILITY, "end": "08:00"}}, "availability.end"),
        ({"capacity_per_hour": 0}, "capacity_per_hour"),
        ({"capacity_per_day": 10**9}, "capacity_per_day"),
        ({"capacity_per_day": 2, "capacity_per_hour": 3}, "capacity_per_hour"),
        ({"offers": []}, "offers"),
        ({"paused": "sometimes"}, "paused"),
    ]
    for change, field in cases:
        await refused(
            await intake.client.post("/v1/partners", headers=ADMIN, json=base | change), field
        )
        patch = intake.client.patch(
            f"/v1/partners/{fitter['id']}", headers=auth(fitter["api_key"]), json=change
        )
        await refused(await patch, field)
    for cleared in ("offers", "regions", "paused"):
        patch = intake.client.patch(
            f"/v1/partners/{fitter['id']}", headers=ADMIN, json={cleared: None}
        )
        await refused(await patch, cleared)
    # The hourly cap is checked against the daily one the partner already has.
    patch = intake.client.patch(
        f"/v1/partners/{fitter['id']}", headers=ADMIN, json={"capacity_per_hour": 6}
    )
    await refused(await patch, "capacity_per_hour")


async def test_agreement_priority_holding_and_tiered_terms_are_published(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    fitter = await intake.partner("Fitters", ["installation"], ["berlin"])
    tiered = {
        "type": "tiered",
        "currency": "EUR",
        "tiers": [{"from_amount": "0", "rate": "0.05"}, {"from_amount": "10000", "rate": "0.08"}],
        "cap_per_lead": {"amount": "500.00", "currency": "EUR"},
    }
    agreement = await intake.agreement(shop, fitter, commission=tiered, priority=5, holding_days=14)
    assert (agreement["priority"], agreement["holding_days"]) == (5, 14)
    assert agreement["commission"] == tiered
    capped = await intake.agreement(
        fitter,
        shop,
        categories=["windows"],
        commission={
            "type": "percent",
            "rate": "0.10",
            "cap_per_lead": {"amount": "1000", "currency": "JPY"},
        },
    )
    assert (capped["priority"], capped["holding_days"]) == (0, 0)

    events = [e for e in await intake.published(Topic.PARTNERS, 4) if "agreement" in e.type]
    first = next(e.data for e in events if e.subject == agreement["id"])
    assert (first["priority"], first["holding_days"]) == (5, 14)
    assert first["commission"]["tiers"][1] == {"from_amount": "10000", "rate": "0.08"}
    assert first["commission"]["cap_per_lead"] == {"amount": "500.00", "currency": "EUR"}


@pytest.mark.sqlite_only
async def test_bad_agreement_terms_are_refused_with_the_field(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    fitter = await intake.partner("Fitters", ["installation"], ["berlin"])
    base = {
        "source_partner_id": shop["id"],
        "target_partner_id": fitter["id"],
        "categories": ["installation"],
        "commission": {"type": "percent", "rate": "0.10"},
        "manager_share": "0.20",
    }
    zero = {"from_amount": "0", "rate": "0.05"}

    def tiered(*tiers: dict[str, str], currency: str = "EUR", **extra: Any) -> dict[str, Any]:
        return {
            "commission": {"type": "tiered", "currency": currency, "tiers": list(tiers), **extra}
        }

    cases: list[tuple[dict[str, Any], str]] = [
        ({"priority": 101}, "priority"),
        ({"priority": -101}, "priority"),
        ({"holding_days": -1}, "holding_days"),
        ({"holding_days": 366}, "holding_days"),
        (tiered({"from_amount": "100", "rate": "0.05"}), "commission.tiers.0.from_amount"),
        (tiered(zero, {"from_amount": "0", "rate": "0.1"}), "commission.tiers.1.from_amount"),
        (
            tiered(
                zero, {"from_amount": "500", "rate": "0.1"}, {"from_amount": "200", "rate": "0.2"}
            ),
            "commission.tiers.2.from_amount",
        ),
        (tiered({"from_amount": "0", "rate": "1.5"}), "commission.tiers.0.rate"),
        (
            tiered(zero, {"from_amount": "10.5", "rate": "0.1"}, currency="JPY"),
            "commission.tiers.1.from_amount",
        ),
        (tiered(zero, currency="XXX"), "commission.currency"),
        (tiered(), "commission.tiers"),
        (
            tiered(zero, cap_per_lead={"amount": "10", "currency": "USD"}),
            "commission.cap_per_lead.currency",
        ),
        (
            {
                "commission": {
                    "type": "percent",
                    "rate": "0.1",
                    "cap_per_lead": {"amount": "1.001", "currency": "EUR"},
                }
            },
            "commission.cap_per_lead.amount",
        ),
        (
            {
                "commission": {
                    "type": "percent",
                    "rate": "0.1",
                    "cap_per_lead": {"amount": "0", "currency": "EUR"},
                }
            },
            "commission.cap_per_lead.amount",
        ),
        (
            {
                "commission": {
                    "type": "percent",
                    "rate": "0.1",
                    "cap_per_lead": {"amount": "5", "currency": "QQQ"},
                }
            },
            "commission.cap_per_lead.currency",
        ),
        ({"commission": {"type": "flat", "amount": "5.5", "currency": "JPY"}}, "commission.amount"),
        # The terms are shared with the events, whose readers ignore unknown fields; a request
        # body still refuses them, at any depth.
        ({"commission": {"type": "percent", "rate": "0.1", "floor": "5"}}, "commission.floor"),
        (
            {
                "commission": {
                    "type": "percent",
                    "rate": "0.1",
                    "cap_per_lead": {"amount": "5", "currency": "EUR", "per": "month"},
                }
            },
            "commission.cap_per_lead.per",
        ),
        (tiered({**zero, "until": "100"}), "commission.tiers.0.until"),
        # Amounts above 10^12 major units, anywhere in the terms.
        (
            {"commission": {"type": "flat", "amount": "1000000000000.01", "currency": "EUR"}},
            "commission.amount",
        ),
        (
            {
                "commission": {
                    "type": "percent",
                    "rate": "0.1",
                    "cap_per_lead": {"amount": "10000000000000", "currency": "EUR"},
                }
            },
            "commission.cap_per_lead.amount",
        ),
        (
            tiered(zero, {"from_amount": "1000000000001", "rate": "0.1"}),
            "commission.tiers.1.from_amount",
        ),
    ]
    for change, field in cases:
        response = await intake.client.post("/v1/agreements", headers=ADMIN, json=base | change)
        await refused(response, field)


@pytest.mark.sqlite_only
async def test_deals_must_be_in_the_commission_currency_and_carry_the_holding_period(
    intake: Intake,
) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    fitter = await intake.partner("Fitters", ["installation"], ["berlin"])
    agreement = await intake.agreement(
        shop,
        fitter,
        commission={"type": "flat", "amount": "50.00", "currency": "EUR"},
        holding_days=30,
    )
    lead_id = await intake.lead(shop)
    await route(intake, lead_id, shop["id"], fitter["id"], agreement["id"])
    await intake.client.post(f"/v1/leads/{lead_id}/accept", headers=auth(fitter["api_key"]))
    deal = {"lead_id": lead_id, "external_id": "d1", "status": "won", "amount": "800.00"}

    in_dollars = await intake.client.post(
        "/v1/conversions", headers=auth(fitter["api_key"]), json=deal | {"currency": "USD"}
    )
    await refused(in_dollars, "currency")
    in_euros = await intake.client.post(
        "/v1/conversions", headers=auth(fitter["api_key"]), json=deal | {"currency": "EUR"}
    )
    assert in_euros.status_code == 202
    [reported] = await intake.published(Topic.CONVERSIONS, 1)
    assert reported.data["holding_days"] == 30
    assert reported.data["commission"] == {"type": "flat", "amount": "50.00", "currency": "EUR"}


@pytest.mark.sqlite_only
async def test_a_lead_must_be_within_the_customers_consent(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    consent = lead_body()["consent"]
    outside = lead_body(consent={**consent, "categories": ["financing"]})
    response = await intake.client.post("/v1/leads", headers=auth(shop["api_key"]), json=outside)
    await refused(response, "consent.categories")
    await refused(
        await intake.client.post(
            "/v1/leads",
            headers=auth(shop["api_key"]),
            json=lead_body(consent={**consent, "categories": []}),
        ),
        "consent.categories",
    )
    assert await intake.count_leads() == 0

    within = lead_body(consent={**consent, "categories": ["financing", "installation"]})
    accepted = await intake.client.post("/v1/leads", headers=auth(shop["api_key"]), json=within)
    assert accepted.status_code == 202
    [received] = await intake.published(Topic.LEADS, 1)
    assert received.data["consent"]["categories"] == ["financing", "installation"]


async def test_an_ended_agreement_routes_nothing_new_but_keeps_its_deals(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    fitter = await intake.partner("Fitters", ["installation"], ["berlin"])
    agreement = await intake.agreement(shop, fitter)
    lead_id = await intake.lead(shop)
    await route(intake, lead_id, shop["id"], fitter["id"], agreement["id"])
    await intake.client.post(f"/v1/leads/{lead_id}/accept", headers=auth(fitter["api_key"]))

    url = f"/v1/agreements/{agreement['id']}/end"
    by_partner = await intake.client.post(url, headers=auth(shop["api_key"]))
    assert by_partner.status_code == 403
    ended = await intake.client.post(url, headers=ADMIN)
    assert ended.status_code == 200, ended.text
    assert ended.json()["ended_at"] is not None
    again = await intake.client.post(url, headers=ADMIN)
    assert again.json() == ended.json()  # ending twice changes nothing
    shown = await intake.client.get(f"/v1/agreements/{agreement['id']}", headers=ADMIN)
    assert shown.json()["ended_at"] == ended.json()["ended_at"]
    missing = await intake.client.post("/v1/agreements/agr_nope/end", headers=ADMIN)
    assert missing.status_code == 404

    [event] = [e for e in await intake.published(Topic.PARTNERS, 4) if e.type.endswith("ended.v1")]
    assert (event.subject, event.data["target_partner_id"]) == (agreement["id"], fitter["id"])
    # A deal on a lead routed before the end still earns its commission.
    deal = {
        "lead_id": lead_id,
        "external_id": "d1",
        "status": "won",
        "amount": "800.00",
        "currency": "EUR",
    }
    won = await intake.client.post("/v1/conversions", headers=auth(fitter["api_key"]), json=deal)
    assert won.status_code == 202, won.text


async def test_an_agreement_says_when_the_target_learns_the_contact(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    fitter = await intake.partner("Fitters", ["installation"], ["berlin"])
    blind = await intake.agreement(shop, fitter)
    open_ = await intake.agreement(shop, fitter, share_contact="on_offer")
    assert (blind["share_contact"], open_["share_contact"]) == ("on_accept", "on_offer")
    shown = await intake.client.get(
        f"/v1/agreements/{open_['id']}", headers=auth(fitter["api_key"])
    )
    assert shown.json()["share_contact"] == "on_offer"

    base = {
        "source_partner_id": shop["id"],
        "target_partner_id": fitter["id"],
        "categories": ["installation"],
        "commission": {"type": "percent", "rate": "0.10"},
        "manager_share": "0.20",
    }
    for bad in ("always", "ON_OFFER", "", None, 1, ["on_offer"]):
        response = await intake.client.post(
            "/v1/agreements", headers=ADMIN, json=base | {"share_contact": bad}
        )
        await refused(response, "share_contact")

    # Two partners and the two agreements published, nothing for the refused ones.
    events = [e for e in await intake.published(Topic.PARTNERS, 4) if "agreement" in e.type]
    assert {e.subject: e.data["share_contact"] for e in events} == {
        blind["id"]: "on_accept",
        open_["id"]: "on_offer",
    }
