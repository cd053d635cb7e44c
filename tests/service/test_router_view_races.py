"""A lead routed at the moment the routing view changes (here: an agreement is recorded by
another replica) on the real databases: it is either routed under the new agreement or woken
by it, never parked until its next scheduled look. The shop's only other partner is full."""

from __future__ import annotations

import asyncio

import pytest

from crosslead_common.db import Database, utcnow
from crosslead_router import routing, service
from crosslead_router.routing import Outcome
from tests.support.router import agreement, lead, partner

pytestmark = pytest.mark.schema("router")

SHOP = partner("shop", "north")
FULL = partner("full", "north", capacity_per_day=1)
FITTER = partner("fitter", "north")
AGREEMENT = agreement("agr", SHOP.id, FITTER.id)


@pytest.fixture(autouse=True)
async def _partners(db: Database) -> None:
    async with db.transaction() as session:
        for each in (SHOP, FULL, FITTER):
            await service.record_partner(session, each.registered(), at=utcnow())
        await service.record_agreement(session, agreement("agr-full", SHOP.id, FULL.id), utcnow())
        assert await routing.route_lead(session, lead("lead-0", SHOP.id, "north")) == "routed"


async def test_a_lead_routed_while_an_agreement_is_being_recorded_is_offered_under_it(
    db: Database,
) -> None:
    recorded, commit = asyncio.Event(), asyncio.Event()

    async def record() -> None:
        async with db.transaction() as session:
            await service.record_agreement(session, AGREEMENT, at=utcnow())
            recorded.set()
            await commit.wait()

    async def route() -> Outcome | None:
        async with db.transaction() as session:
            return await routing.route_lead(session, lead("lead-1", SHOP.id, region="north"))

    recording = asyncio.create_task(record())
    await recorded.wait()
    routed = asyncio.create_task(route())
    await asyncio.sleep(0.3)  # the lead reaches the router before the agreement commits
    commit.set()
    await recording
    assert await routed == "routed"


async def test_a_lead_parked_while_an_agreement_is_being_recorded_is_woken_by_it(
    db: Database,
) -> None:
    parked, commit = asyncio.Event(), asyncio.Event()

    async def route() -> Outcome | None:
        async with db.transaction() as session:
            outcome = await routing.route_lead(session, lead("lead-1", SHOP.id, region="north"))
            parked.set()
            await commit.wait()
            return outcome

    async def record() -> None:
        async with db.transaction() as session:
            await service.record_agreement(session, AGREEMENT, at=utcnow())

    routing_task = asyncio.create_task(route())
    await parked.wait()
    recording = asyncio.create_task(record())
    await asyncio.sleep(0.3)  # the agreement arrives before the parked lead commits
    commit.set()
    assert await routing_task == "waiting"
    await recording

    async with db.transaction() as session:
        assert await routing.recheck_waiting(session, now=utcnow(), limit=10) == 1
