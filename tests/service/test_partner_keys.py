"""API keys rotated and revoked, partners disabled: intake's API (who may do what, validation,
the overlap of a rotation) and what router and payouts make of intake's events (each applies
them through its consumer path, on its own database, and refuses the key from then on)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from crosslead_common.auth import hash_api_key, new_api_key
from crosslead_common.events import (
    LeadRouted,
    LeadUnroutable,
    PartnerKeyRevoked,
    PartnerRegistered,
    PartnerStatusChanged,
    PartnerUpdated,
    Topic,
)
from crosslead_payouts.models import Partner as PayoutsPartner
from crosslead_router.models import Partner as RouterPartner
from tests.service.intake import ADMIN, Intake, auth
from tests.support.databases import fresh_database
from tests.support.router import agreement, lead, network, of_type, partner
from tests.support.services import Service, in_process

pytestmark = pytest.mark.schema("intake")

DAY = timedelta(days=1)


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert field in [e["field"] for e in response.json()["errors"]], response.json()


async def works_on_intake(intake: Intake, key: str, partner_id: str) -> bool:
    response = await intake.client.get(f"/v1/partners/{partner_id}", headers=auth(key))
    assert response.status_code in {200, 401}, response.text
    return response.status_code == 200


async def keys(intake: Intake, partner_id: str) -> list[dict[str, Any]]:
    response = await intake.client.get(f"/v1/partners/{partner_id}/api-keys", headers=ADMIN)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def rotate(
    intake: Intake, partner_id: str, token: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await intake.client.post(
        f"/v1/partners/{partner_id}/api-keys", headers=auth(token), json=body
    )


def near(value: str, expected: datetime) -> bool:
    return abs(datetime.fromisoformat(value) - expected) < timedelta(minutes=1)


async def test_a_rotated_key_works_and_the_old_one_for_the_overlap_only(intake: Intake) -> None:
    shop = await intake.partner("Shop", ["installation"], ["berlin"])
    [first] = await keys(intake, shop["id"])
    assert set(first) == {"id", "created_at", "expires_at", "revoked_at"}
    assert first["expires_at"] is None

    # The partner rotates its own key; the old one keeps working for the default day.
    response = await rotate(intake, shop["id"], shop["api_key"])
    assert response.status_code == 201, response.text
    second = response.json()
    assert set(second) == {"id", "api_key", "created_at"}
    assert second["id"] != first["id"]
    assert await works_on_intake(intake, second["api_key"], shop["id"])
    assert await works_on_intake(intake, shop["api_key"], shop["id"])
    listed = await keys(intake, shop["id"])
    assert [k["id"] for k in listed] == [first["id"], second["id"]]
    assert near(listed[0]["expires_at"], datetime.now(UTC) + DAY)
    assert listed[1]["expires_at"] is None
    assert all("api_key" not in k and "key_hash" not in k for k in listed)

    # The operator rotates again with no overlap: every other key stops at once.
    response = await intake.client.post(
        f"/v1/partners/{shop['id']}/api-keys",
        headers=ADMIN,
        json={"previous_valid_for_seconds": 0},
    )
    assert response.status_code == 201, response.text
    third = response.json()
    assert await works_on_intake(intake, third["api_key"], shop["id"])
    assert not await works_on_intake(intake, second["api_key"], shop["id"])
    assert not await works_on_intake(intake, shop["api_key"], shop["id"])

    # Every key that stopped was announced once, with when it stops.
    revoked = [
        PartnerKeyRevoked.model_validate(e.data)
        for e in await intake.service.outbox(Topic.PARTNERS)
        if e.type == PartnerKeyRevoked.event_type
    ]
    assert [(r.key_id, near(r.expires_at.isoformat(), datetime.now(UTC))) for r in revoked] == [
        (first["id"], False),  # in a day
        (first["id"], True),
        (second["id"], True),
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"previous_valid_for_seconds": -1},
        {"previous_valid_for_seconds": 7 * 86400 + 1},
        {"previous_valid_for_seconds": "soon"},
    ],
)
async def test_an_overlap_out_of_range_is_refused_and_changes_nothing(
    intake: Intake, body: dict[str, Any]
) -> None:
    shop = await intake.partner("Shop", ["installation"], ["berlin"])
    before = await intake.service.outbox()
    assert_problem(
        await rotate(intake, shop["id"], shop["api_key"], body), 422, "previous_valid_for_seconds"
    )
    assert len(await keys(intake, shop["id"])) == 1
    assert await intake.service.outbox() == before


async def test_the_longest_overlap_is_seven_days(intake: Intake) -> None:
    shop = await intake.partner("Shop", ["installation"], ["berlin"])
    response = await rotate(
        intake, shop["id"], shop["api_key"], {"previous_valid_for_seconds": 7 * 86400}
    )
    assert response.status_code == 201, response.text
    old, _ = await keys(intake, shop["id"])
    assert near(old["expires_at"], datetime.now(UTC) + 7 * DAY)


async def test_a_revoked_key_is_refused_at_once_and_others_keys_are_not_found(
    intake: Intake,
) -> None:
    shop = await intake.partner("Shop", ["installation"], ["berlin"])
    fitter = await intake.partner("Fitter", ["installation"], ["berlin"])
    new = (await rotate(intake, shop["id"], shop["api_key"])).json()
    [fitters_key] = await keys(intake, fitter["id"])
    old_id = (await keys(intake, shop["id"]))[0]["id"]

    # Another partner's keys do not exist for the caller: listing, rotating and revoking.
    for response in (
        await intake.client.get(
            f"/v1/partners/{shop['id']}/api-keys", headers=auth(fitter["api_key"])
        ),
        await rotate(intake, shop["id"], fitter["api_key"]),
        await intake.client.delete(
            f"/v1/partners/{shop['id']}/api-keys/{old_id}", headers=auth(fitter["api_key"])
        ),
        # ... nor under the caller's own id, nor an unknown key, nor an unknown partner.
        await intake.client.delete(
            f"/v1/partners/{shop['id']}/api-keys/{fitters_key['id']}", headers=ADMIN
        ),
        await intake.client.delete(
            f"/v1/partners/{shop['id']}/api-keys/key_unknown", headers=ADMIN
        ),
        await intake.client.get("/v1/partners/ptr_unknown/api-keys", headers=ADMIN),
    ):
        assert_problem(response, 404)
    assert await works_on_intake(intake, fitter["api_key"], fitter["id"])
    assert await works_on_intake(intake, shop["api_key"], shop["id"])

    # The partner revokes its old key (still in its overlap) with the new one.
    path = f"/v1/partners/{shop['id']}/api-keys/{old_id}"
    response = await intake.client.delete(path, headers=auth(new["api_key"]))
    assert response.status_code == 204, response.text
    assert not await works_on_intake(intake, shop["api_key"], shop["id"])
    assert await works_on_intake(intake, new["api_key"], shop["id"])
    old, _ = await keys(intake, shop["id"])
    assert old["revoked_at"] is not None
    assert near(old["revoked_at"], datetime.now(UTC))
    assert old["expires_at"] == old["revoked_at"]
    # Again: nothing changes, nothing more is announced.
    count = len(await intake.service.outbox(Topic.PARTNERS))
    assert (await intake.client.delete(path, headers=ADMIN)).status_code == 204
    assert len(await intake.service.outbox(Topic.PARTNERS)) == count


async def test_only_the_operator_disables_a_partner_and_its_keys_stop_working(
    intake: Intake,
) -> None:
    shop = await intake.partner("Shop", ["installation"], ["berlin"])
    path = f"/v1/partners/{shop['id']}"
    assert shop["status"] == "active"
    before = await intake.service.outbox()

    response = await intake.client.patch(
        path, headers=auth(shop["api_key"]), json={"status": "disabled"}
    )
    assert_problem(response, 403)
    for bad in ({"status": "gone"}, {"status": None}):
        assert_problem(await intake.client.patch(path, headers=ADMIN, json=bad), 422, "status")
    assert await intake.service.outbox() == before
    assert await works_on_intake(intake, shop["api_key"], shop["id"])

    response = await intake.client.patch(path, headers=ADMIN, json={"status": "disabled"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "disabled"
    assert not await works_on_intake(intake, shop["api_key"], shop["id"])
    rotated = await intake.client.post(f"{path}/api-keys", headers=ADMIN, json={})
    assert rotated.status_code == 201
    assert not await works_on_intake(intake, rotated.json()["api_key"], shop["id"])

    response = await intake.client.patch(path, headers=ADMIN, json={"status": "active"})
    assert response.json()["status"] == "active"
    assert await works_on_intake(intake, rotated.json()["api_key"], shop["id"])
    changes = [
        PartnerStatusChanged.model_validate(e.data).status
        for e in await intake.service.outbox(Topic.PARTNERS)
        if e.type == PartnerStatusChanged.event_type
    ]
    assert changes == ["disabled", "active"]
    # A status change alone is not a change of routing settings.
    assert [e.type for e in await intake.service.outbox(Topic.PARTNERS)].count(
        PartnerUpdated.event_type
    ) == 0


@asynccontextmanager
async def router_and_payouts(
    database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Service, Service]]:
    """Router and payouts in-process, each on a database of its own on the same backend."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    async with AsyncExitStack() as stack:
        services = []
        for name in ("router", "payouts"):
            url = await stack.enter_async_context(
                fresh_database(backend, tmp_path / f"{name}.db", name)
            )
            services.append(await stack.enter_async_context(in_process(name, url)))
        yield services[0], services[1]


async def refused_by(services: tuple[Service, Service], key: str) -> list[str]:
    """The services (router, payouts) that refuse ``key``."""
    router, payouts = services
    answers = {
        "router": await router.client.get("/v1/webhook-endpoints", headers=auth(key)),
        "payouts": await payouts.client.get("/v1/statements", headers=auth(key)),
    }
    assert {r.status_code for r in answers.values()} <= {200, 401}, answers
    return sorted(name for name, r in answers.items() if r.status_code == 401)


async def test_router_and_payouts_refuse_what_intakes_events_revoke(
    intake: Intake, database_url: str, tmp_path: Path
) -> None:
    shop = await intake.partner("Shop", ["installation"], ["berlin"])
    async with router_and_payouts(database_url, tmp_path) as services:
        delivered: set[str] = set()

        async def catch_up() -> None:
            """Deliver intake's new partner events to router and payouts."""
            for envelope in await intake.service.outbox(Topic.PARTNERS):
                if envelope.id not in delivered:
                    delivered.add(envelope.id)
                    for service in services:
                        await service.deliver(envelope)

        # A signed key works before its registration arrives, and after.
        assert await refused_by(services, shop["api_key"]) == []
        await catch_up()
        assert await refused_by(services, shop["api_key"]) == []

        rotated = (await rotate(intake, shop["id"], shop["api_key"])).json()
        await catch_up()
        assert await refused_by(services, shop["api_key"]) == []  # its overlap
        assert await refused_by(services, rotated["api_key"]) == []

        old_id = (await keys(intake, shop["id"]))[0]["id"]
        response = await intake.client.delete(
            f"/v1/partners/{shop['id']}/api-keys/{old_id}", headers=ADMIN
        )
        assert response.status_code == 204
        await catch_up()
        assert await refused_by(services, shop["api_key"]) == ["payouts", "router"]
        assert await refused_by(services, rotated["api_key"]) == []

        # The same revocation again (a replay) or a late one with a later time never
        # brings a key back.
        later = PartnerKeyRevoked(
            partner_id=shop["id"], key_id=old_id, expires_at=datetime.now(UTC) + DAY
        )
        for service in services:
            await service.deliver(later)
        assert await refused_by(services, shop["api_key"]) == ["payouts", "router"]

        await intake.client.patch(
            f"/v1/partners/{shop['id']}", headers=ADMIN, json={"status": "disabled"}
        )
        await catch_up()
        assert await refused_by(services, rotated["api_key"]) == ["payouts", "router"]
        await intake.client.patch(
            f"/v1/partners/{shop['id']}", headers=ADMIN, json={"status": "active"}
        )
        await catch_up()
        assert await refused_by(services, rotated["api_key"]) == []


async def test_a_registration_never_re_keys_a_known_partner(
    database_url: str, tmp_path: Path
) -> None:
    key, forged_key = new_api_key(), new_api_key()
    registered = PartnerRegistered(
        partner_id="ptr_known",
        name="Known Ltd",
        offers=("installation",),
        regions=("berlin",),
        capacity_per_day=None,
        api_key_hash=hash_api_key(key),
    )
    forged = registered.model_copy(
        update={"api_key_hash": hash_api_key(forged_key), "name": "Forged Ltd"}
    )
    async with router_and_payouts(database_url, tmp_path) as services:
        for service in services:
            await service.deliver(registered)
            await service.deliver(forged)
            # Redelivered as it was first, the registration still applies (nothing changes).
            await service.deliver(registered)
        assert await refused_by(services, key) == []
        assert await refused_by(services, forged_key) == ["payouts", "router"]
        router, payouts = services
        async with router.db.sessionmaker() as session:
            row = await session.scalar(select(RouterPartner).where(RouterPartner.id == "ptr_known"))
            assert row is not None
            assert (row.name, row.api_key_hash) == ("Known Ltd", hash_api_key(key))
        async with payouts.db.sessionmaker() as session:
            stored = await session.get(PayoutsPartner, "ptr_known")
            assert stored is not None
            assert (stored.name, stored.api_key_hash) == ("Known Ltd", hash_api_key(key))


@pytest.mark.schema("router")
async def test_a_disabled_partner_is_no_candidate(database_url: str) -> None:
    shop = partner("shop", "north")
    off = partner("off", "north")
    other = partner("other", "north")
    deals = [
        agreement("agr-off", shop.id, off.id, priority=5),
        agreement("agr-other", shop.id, other.id),
    ]
    async with network(database_url, [shop, off, other], deals) as net:
        await net.publish(PartnerStatusChanged(partner_id=off.id, status="disabled"))
        await net.publish(lead("lead-1", shop.id, "north"))
        events = await net.events_until(lambda evs: bool(of_type(evs, LeadRouted, "lead-1")))
        [routed] = of_type(events, LeadRouted, "lead-1")
        assert routed.target_partner_id == other.id
        assert routed.decision is not None
        assert [(e.partner_id, e.reason) for e in routed.decision.excluded] == [
            (off.id, "disabled")
        ]
        # Its only candidate disabled, a lead cannot be routed (it does not wait).
        await net.publish(PartnerStatusChanged(partner_id=other.id, status="disabled"))
        await net.publish(lead("lead-2", shop.id, "north"))
        events = await net.events_until(lambda evs: bool(of_type(evs, LeadUnroutable, "lead-2")))
        [unroutable] = of_type(events, LeadUnroutable, "lead-2")
        assert unroutable.reason == "every partner with an agreement is disabled"
        assert unroutable.decision is not None
        assert {(e.partner_id, e.reason) for e in unroutable.decision.excluded} == {
            (off.id, "disabled"),
            (other.id, "disabled"),
        }
