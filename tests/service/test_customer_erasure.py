"""Erasing a customer (crypto-shredding) in intake, in the service tier on real databases: it
keeps only the sealed contact and erases it on request (validated, each partner only its own
leads, no oracle); the router's side is in ``test_router_erasure.py``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from crosslead_common.events import CustomerErased, LeadReceived, Topic
from crosslead_intake.models import CustomerKey, Lead
from tests.service.intake import ADMIN, Intake, auth

PHONE_DIGITS = "5550100"


async def erase(intake: Intake, headers: dict[str, str], **body: Any) -> Any:
    return await intake.client.post("/v1/customers/erase", headers=headers, json=body)


async def erased_at(intake: Intake, lead_id: str) -> str | None:
    response = await intake.client.get(f"/v1/leads/{lead_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    value: str | None = response.json()["customer_erased_at"]
    return value


async def stored_text(intake: Intake) -> str:
    """Every lead row and every outbox payload intake holds, as text."""
    async with intake.db.sessionmaker() as session:
        leads = (await session.execute(text("SELECT * FROM leads"))).all()
        outbox = (await session.execute(text("SELECT payload FROM outbox"))).all()
    return repr(leads) + repr(outbox)


async def test_the_contact_is_stored_and_published_only_sealed(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    customer = {"name": "Ada Buyer", "phone": "+49 30 5550100", "email": "ada@example.com"}
    lead_id = await intake.lead(shop, customer=customer)

    stored = await stored_text(intake)
    assert lead_id in stored
    assert PHONE_DIGITS not in stored
    assert "ada@example.com" not in stored
    assert "Ada Buyer" not in stored
    [received] = await intake.published(Topic.LEADS, 1)
    assert received.type == LeadReceived.event_type
    assert received.data["customer"].keys() == {"sealed", "data_key"}


async def test_an_erasure_names_what_it_needs_and_changes_nothing_when_refused(
    intake: Intake,
) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    lead_id = await intake.lead(shop)

    nothing = await erase(intake, ADMIN)
    assert nothing.status_code == 422
    assert nothing.headers["content-type"] == "application/problem+json"
    assert nothing.json()["errors"][0]["field"] == "phone"
    bad: list[tuple[dict[str, Any], str]] = [
        ({"phone": "call me"}, "phone"),
        ({"email": "no-at-sign"}, "email"),
        ({"lead_id": ""}, "lead_id"),
        ({"lead_id": "x" * 65}, "lead_id"),
        ({"name": "Ada Buyer"}, "name"),
        ({"phone": 4930}, "phone"),
    ]
    for body, field in bad:
        refused = await erase(intake, ADMIN, **body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["errors"][0]["field"] == field, refused.text
    assert await erased_at(intake, lead_id) is None
    assert len(await intake.service.outbox(Topic.LEADS)) == 1  # only its lead.received


async def test_a_partner_cannot_erase_another_partners_lead(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    stranger = await intake.partner("Stranger", ["windows"], ["berlin"])
    lead_id = await intake.lead(shop, customer={"name": "Ada", "phone": "+49 30 5550100"})

    refused = await erase(intake, auth(stranger["api_key"]), lead_id=lead_id)
    assert refused.status_code == 404
    missing = await erase(intake, auth(shop["api_key"]), lead_id="lead_unknown")
    assert missing.status_code == 404
    # Its phone matches no lead of the stranger's: nothing to erase, and nothing told.
    by_phone = await erase(intake, auth(stranger["api_key"]), phone="+49 30 5550100")
    assert (by_phone.status_code, by_phone.json()) == (202, {"count": 0})
    assert await erased_at(intake, lead_id) is None


async def test_an_unknown_customer_erases_nothing(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    await intake.lead(shop)
    for headers in (ADMIN, auth(shop["api_key"])):
        unknown = await erase(intake, headers, phone="+44 20 7946 0000", email="x@example.org")
        assert (unknown.status_code, unknown.json()) == (202, {"count": 0})
    assert [e.type for e in await intake.service.outbox(Topic.LEADS)] == [LeadReceived.event_type]


async def test_erasing_a_phone_erases_every_lead_of_that_customer_and_only_that(
    intake: Intake,
) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"], country="DE")
    other = await intake.partner("Other shop", ["windows"], ["berlin"], country="DE")
    local = {"name": "Ada", "phone": "030 5550100"}
    international = {"name": "Ada", "phone": "+49 30 5550100"}
    first = await intake.lead(shop, customer=local)
    repair = await intake.lead(shop, customer=international, need="repair")
    duplicate = await intake.lead(shop, customer=international)
    theirs = await intake.lead(other, customer=local, need="painting")
    bystander = await intake.lead(shop, customer={"name": "Bo", "phone": "+49 30 5550199"})

    # The shop erases its customer by the local spelling: its three leads, not the other's.
    mine = await erase(intake, auth(shop["api_key"]), phone="030 555 01 00")
    assert (mine.status_code, mine.json()) == (202, {"count": 3})
    for lead_id in (first, repair, duplicate):
        assert await erased_at(intake, lead_id) is not None
    assert await erased_at(intake, theirs) is None
    assert await erased_at(intake, bystander) is None
    erased = [
        e for e in await intake.service.outbox(Topic.LEADS) if e.type == CustomerErased.event_type
    ]
    assert sorted(e.subject for e in erased) == sorted([first, repair, duplicate])
    async with intake.db.sessionmaker() as session:
        keys = set(await session.scalars(select(CustomerKey.lead_id)))
        customers = {lead.id: lead.customer for lead in await session.scalars(select(Lead))}
    assert keys == {theirs, bystander}
    assert customers[first] == customers[repair] == customers[duplicate] == {}

    again = await erase(intake, auth(shop["api_key"]), lead_id=first)
    assert (again.status_code, again.json()) == (202, {"count": 0})
    # The operator reaches every partner's leads; an international spelling needs no country.
    operator = await erase(intake, ADMIN, phone="+49 30 5550100")
    assert (operator.status_code, operator.json()) == (202, {"count": 1})
    assert await erased_at(intake, theirs) is not None
    assert await erased_at(intake, bystander) is None


async def test_the_source_erases_one_lead_by_id_and_the_lead_keeps_everything_else(
    intake: Intake,
) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    lead_id = await intake.lead(shop, customer={"name": "Ada", "email": "Ada@Example.com"})
    before = (await intake.client.get(f"/v1/leads/{lead_id}", headers=ADMIN)).json()
    assert before["customer"]["email"] == "Ada@Example.com"

    done = await erase(intake, auth(shop["api_key"]), lead_id=lead_id)
    assert (done.status_code, done.json()) == (202, {"count": 1})
    after = await intake.client.get(f"/v1/leads/{lead_id}", headers=auth(shop["api_key"]))
    assert after.json()["customer_erased_at"] is not None
    assert after.json()["customer"] is None
    erased = {"customer", "customer_erased_at"}
    unchanged = {k: v for k, v in after.json().items() if k not in erased}
    assert unchanged == {k: v for k, v in before.items() if k not in erased}
    # Erased by id, it is no longer recognised by its e-mail either.
    assert (await erase(intake, ADMIN, email="ada@example.com")).json() == {"count": 0}
