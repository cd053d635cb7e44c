"""The same customer for the same need within the window is a duplicate, whoever sends it: it
is stored, shown and announced as such, never offered, and no contact is kept in clear."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from crosslead_common.events import Topic
from crosslead_intake.models import CustomerFingerprint
from tests.service.intake import ADMIN, Intake, auth, lead_body, running_intake

pytestmark = pytest.mark.schema("intake")


def customer(**contact: str) -> dict[str, Any]:
    return lead_body(customer={"name": "Ada Buyer", **contact})


async def submit(
    intake: Intake, partner: dict[str, Any], body: dict[str, Any], **headers: str
) -> Any:
    response = await intake.client.post(
        "/v1/leads", headers={**auth(partner["api_key"]), **headers}, json=body
    )
    assert response.status_code == 202, response.text
    return response.json()


async def test_the_same_customer_and_need_from_any_partner_is_a_duplicate(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    doors = await intake.partner("Door shop", ["doors"], ["berlin"])
    original = await submit(intake, shop, customer(phone="+49 30 1234567"))
    assert original["status"] == "received"
    assert "duplicate_of" not in original

    again = await submit(intake, doors, customer(phone="+49 (30) 123-4567", email="a@b.de"))
    # Another partner's lead id is not the door shop's business.
    assert again == {"id": again["id"], "status": "duplicate"}
    by_email = await submit(intake, shop, customer(email="A@B.De"))
    assert by_email["duplicate_of"] == original["id"]
    other_need = await submit(intake, shop, customer(phone="+4930 1234567") | {"need": "repair"})
    assert other_need["status"] == "received"
    someone_else = await submit(intake, shop, customer(phone="+49 30 7654321"))
    assert someone_else["status"] == "received"

    seen = await intake.client.get(f"/v1/leads/{again['id']}", headers=auth(doors["api_key"]))
    assert (seen.json()["status"], seen.json()["duplicate_of"]) == ("duplicate", None)
    assert [(e["type"], e.get("duplicate_of")) for e in seen.json()["timeline"]] == [
        ("duplicate", None)
    ]
    operator = await intake.client.get(f"/v1/leads/{again['id']}", headers=ADMIN)
    assert operator.json()["duplicate_of"] == original["id"]
    first = await intake.client.get(f"/v1/leads/{original['id']}", headers=ADMIN)
    assert first.json()["duplicate_of"] is None

    events = await intake.published(Topic.LEADS, 5)
    by_lead = {e.subject: e for e in events}
    assert by_lead[again["id"]].type == "crosslead.lead.duplicate.v1"
    assert by_lead[again["id"]].data["original_lead_id"] == original["id"]
    assert by_lead[again["id"]].data["source_partner_id"] == doors["id"]
    assert by_lead[by_email["id"]].type == "crosslead.lead.duplicate.v1"
    received = [e.subject for e in events if e.type == "crosslead.lead.received.v2"]
    assert sorted(received) == sorted([original["id"], other_need["id"], someone_else["id"]])

    async with intake.db.sessionmaker() as session:
        stored = (await session.scalars(select(CustomerFingerprint))).all()
    assert stored
    assert all("1234567" not in f.fingerprint and "@" not in f.fingerprint for f in stored)


async def test_a_retried_duplicate_replays_its_first_answer(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    original = await submit(intake, shop, customer(phone="+49 30 1234567"))
    body = customer(phone="+49301234567")
    first = await submit(intake, shop, body, **{"Idempotency-Key": "k1"})
    again = await submit(intake, shop, body, **{"Idempotency-Key": "k1"})
    assert first == again
    assert first["duplicate_of"] == original["id"]
    assert await intake.count_leads() == 2


async def test_concurrent_submissions_of_one_customer_leave_exactly_one_original(
    intake: Intake,
) -> None:
    shops = [await intake.partner(f"Shop {i}", ["windows"], ["berlin"]) for i in range(3)]
    answers = await asyncio.gather(
        *(submit(intake, shops[i % 3], customer(phone="+49 30 1234567")) for i in range(9))
    )
    originals = [a for a in answers if a["status"] == "received"]
    assert len(originals) == 1
    for answer in answers:
        if answer["status"] == "duplicate":
            seen = await intake.client.get(f"/v1/leads/{answer['id']}", headers=ADMIN)
            assert seen.json()["duplicate_of"] == originals[0]["id"]


async def test_after_the_window_the_customer_is_new_again(database_url: str) -> None:
    async with running_intake(database_url, duplicate_window_days=7) as intake:
        shop = await intake.partner("Window shop", ["windows"], ["berlin"])
        await submit(intake, shop, customer(email="ada@example.com"))
        async with intake.db.transaction() as session:  # the first lead is now 8 days old
            for fingerprint in await session.scalars(select(CustomerFingerprint)):
                fingerprint.created_at -= timedelta(days=8)
        later = await submit(intake, shop, customer(email="ada@example.com"))
        assert later["status"] == "received"
        soon_after = await submit(intake, shop, customer(email="ada@example.com"))
        assert soon_after["duplicate_of"] == later["id"]


async def test_a_local_and_an_international_spelling_in_the_shops_country_are_one_customer(
    intake: Intake,
) -> None:
    berlin = await intake.partner("Berlin shop", ["windows"], ["berlin"], country="DE")
    nowhere = await intake.partner("Shop without a country", ["windows"], ["berlin"])
    original = await submit(intake, berlin, customer(phone="030 5550100"))
    again = await submit(intake, berlin, customer(phone="+49 30 5550100"))
    assert again == {"id": again["id"], "status": "duplicate", "duplicate_of": original["id"]}
    # Without a country a local number cannot be placed: it is compared as written.
    unplaced = await submit(intake, nowhere, customer(phone="030 5550100") | {"need": "repair"})
    elsewhere = await submit(intake, nowhere, customer(phone="+49 30 5550100") | {"need": "repair"})
    assert (unplaced["status"], elsewhere["status"]) == ("received", "received")


async def test_the_partner_country_is_validated_patched_and_announced(intake: Intake) -> None:
    for wrong in ("de", "XX", "DEU", 49):
        response = await intake.client.post(
            "/v1/partners",
            headers=ADMIN,
            json={"name": "Shop", "offers": ["windows"], "regions": ["berlin"], "country": wrong},
        )
        assert response.status_code == 422, wrong
        assert response.json()["errors"][0]["field"] == "country"
    shop = await intake.partner("Shop", ["windows"], ["wien"], country="AT")
    assert shop["country"] == "AT"
    patched = await intake.client.patch(
        f"/v1/partners/{shop['id']}", headers=auth(shop["api_key"]), json={"country": "DE"}
    )
    assert (patched.status_code, patched.json()["country"]) == (200, "DE")
    refused = await intake.client.patch(
        f"/v1/partners/{shop['id']}", headers=ADMIN, json={"country": "ZZ"}
    )
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, "country")
    registered, updated = await intake.published(Topic.PARTNERS, 2)
    assert (registered.data["country"], updated.data["country"]) == ("AT", "DE")
