"""The intake API on real databases: what partners and the operator see, what is published,
and how bad input is refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest

from crosslead_common.events import SealedCustomer, Topic
from tests.service.intake import ADMIN, Intake, auth, lead_body, route
from tests.support.router import VAULT

pytestmark = pytest.mark.schema("intake")


@pytest.mark.sqlite_only
async def test_partner_and_agreement_lifecycle_with_access_rules(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    fitter = await intake.partner("Fitters", ["installation"], ["berlin"])
    assert shop["api_key"].startswith("clk_")

    own = await intake.client.get(f"/v1/partners/{shop['id']}", headers=auth(shop["api_key"]))
    assert own.status_code == 200
    assert "api_key" not in own.json()
    foreign = await intake.client.get(f"/v1/partners/{fitter['id']}", headers=auth(shop["api_key"]))
    assert foreign.status_code == 404

    as_partner = await intake.client.post(
        "/v1/partners",
        headers=auth(shop["api_key"]),
        json={"name": "x", "offers": ["a"], "regions": ["b"]},
    )
    assert as_partner.status_code == 403
    assert as_partner.headers["content-type"] == "application/problem+json"

    agreement = await intake.client.post(
        "/v1/agreements",
        headers=ADMIN,
        json={
            "source_partner_id": shop["id"],
            "target_partner_id": fitter["id"],
            "categories": ["installation"],
            "commission": {"type": "percent", "rate": "0.10"},
            "manager_share": "0.20",
            "accept_within_seconds": 3600,
        },
    )
    assert agreement.status_code == 201, agreement.text
    assert agreement.json()["commission"] == {"type": "percent", "rate": "0.10"}

    events = await intake.published(Topic.PARTNERS, 3)
    assert [e.type for e in events].count("crosslead.partner.registered.v1") == 2
    assert [e.type for e in events].count("crosslead.agreement.created.v1") == 1


async def test_lead_submission_is_published_and_idempotent(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    headers = {**auth(shop["api_key"]), "Idempotency-Key": "order-1"}

    first = await intake.client.post("/v1/leads", headers=headers, json=lead_body())
    again = await intake.client.post("/v1/leads", headers=headers, json=lead_body())
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert first.json()["status"] == "received"

    changed = await intake.client.post(
        "/v1/leads", headers=headers, json=lead_body(region="hamburg")
    )
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await intake.count_leads() == 1

    [received] = await intake.published(Topic.LEADS, 1)
    assert received.type == "crosslead.lead.received.v2"
    assert received.subject == first.json()["id"]
    assert "1234567" not in received.model_dump_json()  # the contact travels sealed
    sealed = SealedCustomer.model_validate(received.data["customer"])
    customer = VAULT.open(received.subject, sealed.sealed, sealed.data_key)
    assert customer is not None
    assert customer.phone == "+49 30 1234567"
    assert received.data["source_partner_name"] == "Window shop"

    lead = await intake.client.get(f"/v1/leads/{first.json()['id']}", headers=auth(shop["api_key"]))
    assert lead.json()["status"] == "received"
    assert [entry["type"] for entry in lead.json()["timeline"]] == ["received"]


async def submitted_lead(intake: Intake) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """A shop's lead for installation and an agreement with a fitter:
    (shop, fitter, agreement id, lead id)."""
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    fitter = await intake.partner("Fitters", ["installation"], ["berlin"])
    agreement = await intake.agreement(shop, fitter)
    lead = await intake.client.post("/v1/leads", headers=auth(shop["api_key"]), json=lead_body())
    return shop, fitter, agreement["id"], lead.json()["id"]


async def routed_lead(intake: Intake) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A lead from a shop, routed to and accepted by a fitter: (shop, fitter, lead id)."""
    shop, fitter, agreement_id, lead_id = await submitted_lead(intake)
    await route(intake, lead_id, shop["id"], fitter["id"], agreement_id)
    accepted = await intake.client.post(
        f"/v1/leads/{lead_id}/accept", headers=auth(fitter["api_key"])
    )
    assert accepted.status_code == 202
    return shop, fitter, lead_id


@pytest.mark.sqlite_only
async def test_routed_lead_can_be_accepted_only_by_its_target(intake: Intake) -> None:
    shop, fitter, agreement_id, lead_id = await submitted_lead(intake)
    other = await intake.partner("Others", ["installation"], ["berlin"])

    early = await intake.client.post(f"/v1/leads/{lead_id}/accept", headers=auth(fitter["api_key"]))
    assert early.status_code == 409  # still being routed: retry shortly

    await route(intake, lead_id, shop["id"], fitter["id"], agreement_id)
    outsider = await intake.client.post(
        f"/v1/leads/{lead_id}/accept", headers=auth(other["api_key"])
    )
    assert outsider.status_code == 404
    assert (
        await intake.client.get(f"/v1/leads/{lead_id}", headers=auth(other["api_key"]))
    ).status_code == 404

    accepted = await intake.client.post(
        f"/v1/leads/{lead_id}/accept", headers=auth(fitter["api_key"])
    )
    assert accepted.status_code == 202
    assert accepted.json() == {"id": lead_id, "status": "accepted"}
    rejected = await intake.client.post(
        f"/v1/leads/{lead_id}/reject", headers=auth(fitter["api_key"]), json={}
    )
    assert rejected.status_code == 409

    seen = await intake.client.get(f"/v1/leads/{lead_id}", headers=auth(fitter["api_key"]))
    assert [e["type"] for e in seen.json()["timeline"]] == ["received", "routed", "accepted"]
    assert seen.json()["target_partner_id"] == fitter["id"]


@pytest.mark.sqlite_only
async def test_an_offer_cannot_be_answered_after_its_deadline(intake: Intake) -> None:
    shop, fitter, agreement_id, lead_id = await submitted_lead(intake)
    await route(intake, lead_id, shop["id"], fitter["id"], agreement_id, timedelta(seconds=-1))

    late = await intake.client.post(f"/v1/leads/{lead_id}/accept", headers=auth(fitter["api_key"]))
    assert late.status_code == 409
    assert "closed" in late.json()["detail"]
    lead = await intake.client.get(f"/v1/leads/{lead_id}", headers=ADMIN)
    assert lead.json()["status"] == "routed"  # until the router's lead.expired arrives


async def test_conversions_carry_the_agreement_terms_and_count_once(intake: Intake) -> None:
    shop, fitter, lead_id = await routed_lead(intake)
    fitter_auth = auth(fitter["api_key"])
    won = {
        "lead_id": lead_id,
        "external_id": "deal-1",
        "status": "won",
        "amount": "1000.00",
        "currency": "EUR",
    }

    first = await intake.client.post("/v1/conversions", headers=fitter_auth, json=won)
    again = await intake.client.post("/v1/conversions", headers=fitter_auth, json=won)
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()

    too_much = await intake.client.post(
        "/v1/conversions",
        headers=fitter_auth,
        json={**won, "external_id": "refund-1", "status": "refunded", "amount": "1000.01"},
    )
    assert too_much.status_code == 422
    assert too_much.json()["errors"][0]["field"] == "amount"
    refund = await intake.client.post(
        "/v1/conversions",
        headers=fitter_auth,
        json={**won, "external_id": "refund-1", "status": "refunded", "amount": "500.00"},
    )
    assert refund.status_code == 202

    events = await intake.published(Topic.CONVERSIONS, 2)
    assert [(e.data["status"], e.data["amount"]) for e in events] == [
        ("won", "1000.00"),
        ("refunded", "500.00"),
    ]
    assert events[0].data["commission"] == {"type": "percent", "rate": "0.10", "cap_per_lead": None}
    assert events[0].data["manager_id"] == "mgr-7"
    assert events[0].data["source_partner_id"] == shop["id"]

    shop_view = await intake.client.get(f"/v1/leads/{lead_id}", headers=auth(shop["api_key"]))
    assert shop_view.json()["status"] == "converted"
    assert [e["type"] for e in shop_view.json()["timeline"]][-2:] == [
        "converted",
        "partially_refunded",
    ]

    by_source = await intake.client.post(
        "/v1/conversions", headers=auth(shop["api_key"]), json={**won, "external_id": "deal-2"}
    )
    assert by_source.status_code == 404  # the lead was not routed to the caller


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (lead_body(consent=None), "consent"),
        ({k: v for k, v in lead_body().items() if k != "consent"}, "consent"),
        (lead_body(customer={"name": "No Contact"}), "customer"),
        (lead_body(warmth={"notes": "warm", "score": 9}), "warmth.score"),
        (lead_body(need="Not A Category!"), "need"),
        (lead_body(unexpected=True), "unexpected"),
    ],
)
@pytest.mark.sqlite_only
async def test_bad_leads_are_refused_with_the_field_and_change_nothing(
    intake: Intake, body: dict[str, Any], field: str
) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    response = await intake.client.post("/v1/leads", headers=auth(shop["api_key"]), json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    assert await intake.count_leads() == 0


@pytest.mark.sqlite_only
async def test_auth_size_and_money_errors_are_problems(intake: Intake) -> None:
    shop, fitter, lead_id = await routed_lead(intake)
    no_token = await intake.client.post("/v1/leads", json=lead_body())
    wrong = await intake.client.post(
        "/v1/leads", json=lead_body(), headers=auth("clk_not-a-real-key")
    )
    assert no_token.status_code == wrong.status_code == 401
    assert no_token.json()["title"] == "Unauthorized"

    huge = lead_body(warmth={"notes": "x" * 70_000})
    too_large = await intake.client.post("/v1/leads", headers=auth(shop["api_key"]), json=huge)
    assert too_large.status_code == 413

    fitter_auth = auth(fitter["api_key"])
    base = {"lead_id": lead_id, "external_id": "d", "status": "won", "currency": "EUR"}
    cases = [
        ({**base, "amount": "10.001"}, "amount"),
        ({**base, "amount": "-5"}, "amount"),
        ({**base, "amount": "0"}, "amount"),
        ({**base, "amount": "1000000000000.01"}, "amount"),  # above 10^12 major units
        ({**base, "amount": "99999999999999999999"}, "amount"),  # would overflow BIGINT
        ({**base, "amount": "5", "currency": "XXX"}, "currency"),
        ({**base, "amount": "5", "status": "refunded"}, "status"),
    ]
    for body, field in cases:
        response = await intake.client.post("/v1/conversions", headers=fitter_auth, json=body)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["field"] == field, response.json()

    malformed = await intake.client.post(
        "/v1/leads",
        headers={**auth(shop["api_key"]), "content-type": "application/json"},
        content=b"{oops",
    )
    assert malformed.status_code == 422
    unknown = await intake.client.get("/v1/leads/lead_nope", headers=ADMIN)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


WRONG_VALUES: tuple[object, ...] = (None, 7, -1.5, "", "x" * 5000, [], {}, True, "1e999", "\u0000")


def broken_variants(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every way to break one field of ``body``: missing, or a wrong type, empty or huge."""
    for key, value in body.items():
        yield key, {k: v for k, v in body.items() if k != key}
        for wrong in WRONG_VALUES:
            yield key, {**body, key: wrong}
        if isinstance(value, dict):
            for field, variant in broken_variants(value):
                yield f"{key}.{field}", {**body, key: variant}


@pytest.mark.sqlite_only
async def test_no_malformed_lead_or_conversion_causes_a_server_error(intake: Intake) -> None:
    shop, fitter, lead_id = await routed_lead(intake)
    conversion = {
        "lead_id": lead_id,
        "external_id": "d1",
        "status": "won",
        "amount": "10.00",
        "currency": "EUR",
    }
    statuses: set[int] = set()
    for url, caller, valid in [
        ("/v1/leads", shop, lead_body()),
        ("/v1/conversions", fitter, conversion),
    ]:
        for field, body in broken_variants(valid):
            response = await intake.client.post(url, headers=auth(caller["api_key"]), json=body)
            assert response.status_code < 500, (url, field, body, response.text)
            statuses.add(response.status_code)
    assert 422 in statuses
    nul_in_path = await intake.client.get("/v1/leads/lead_%00", headers=ADMIN)
    assert nul_in_path.status_code == 422
    assert nul_in_path.json()["errors"] == [
        {"field": "path", "message": "must not contain NUL characters"}
    ]


@pytest.mark.sqlite_only
async def test_no_malformed_settings_terms_or_warm_up_request_causes_a_server_error(
    intake: Intake,
) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    fitter = await intake.partner("Fitters", ["installation"], ["berlin"])
    await intake.agreement(shop, fitter)
    availability = {
        "timezone": "Europe/Berlin",
        "weekdays": [1, 2],
        "start": "08:00",
        "end": "17:00",
    }
    settings = {"capacity_per_day": 9, "capacity_per_hour": 2, "availability": availability}
    tiered = {
        "type": "tiered",
        "currency": "EUR",
        "tiers": [{"from_amount": "0", "rate": "0.05"}, {"from_amount": "100", "rate": "0.1"}],
        "cap_per_lead": {"amount": "50", "currency": "EUR"},
    }
    capped = {"type": "percent", "rate": "0.1", "cap_per_lead": {"amount": "50", "currency": "EUR"}}
    agreement = {
        "source_partner_id": fitter["id"],
        "target_partner_id": shop["id"],
        "categories": ["windows"],
        "manager_share": "0.2",
        "priority": 3,
        "holding_days": 10,
    }
    consent = {**lead_body()["consent"], "categories": ["installation"]}
    requests: list[tuple[str, str, dict[str, str], dict[str, Any]]] = [
        (
            "POST",
            "/v1/partners",
            ADMIN,
            {"name": "P", "offers": ["a"], "regions": ["b"], **settings},
        ),
        (
            "PATCH",
            f"/v1/partners/{fitter['id']}",
            auth(fitter["api_key"]),
            settings | {"paused": True},
        ),
        ("POST", "/v1/agreements", ADMIN, agreement | {"commission": tiered}),
        ("POST", "/v1/agreements", ADMIN, agreement | {"commission": capped}),
        ("POST", "/v1/leads", auth(shop["api_key"]), lead_body(consent=consent)),
        (
            "POST",
            "/v1/pitch-cards",
            auth(fitter["api_key"]),
            {"category": "installation", "headline": "h", "talking_points": ["p"]},
        ),
    ]
    statuses: set[int] = set()
    for method, url, headers, valid in requests:
        for field, body in broken_variants(valid):
            response = await intake.client.request(method, url, headers=headers, json=body)
            assert response.status_code < 500, (url, field, body, response.text)
            statuses.add(response.status_code)
    for wrong in WRONG_VALUES:
        for complements in (wrong, [wrong], ["doors", wrong]):
            response = await intake.client.put(
                "/v1/complements/windows", headers=ADMIN, json=complements
            )
            assert response.status_code < 500, (complements, response.text)
        if isinstance(wrong, str):
            for url, params in [
                ("/v1/cross-sell", {"category": wrong}),
                ("/v1/reports/partners", {"window_days": wrong}),
            ]:
                response = await intake.client.get(
                    url, headers=auth(shop["api_key"]), params=params
                )
                assert response.status_code < 500, (url, wrong, response.text)
            segment = quote(wrong, safe="")
            for url in (f"/v1/pitch-cards/{segment}", f"/v1/complements/{segment}"):
                response = await intake.client.get(url, headers=auth(shop["api_key"]))
                assert response.status_code < 500, (url, response.text)
    assert 422 in statuses
