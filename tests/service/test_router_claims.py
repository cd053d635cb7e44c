"""Claiming due deliveries on the real databases: two router replicas never take the same
attempt, and a claim holds the delivery (a lease) until its attempt is recorded."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from crosslead_common.db import Database, utcnow
from crosslead_router import delivery, endpoints, routing, service
from crosslead_router.delivery import Outcome
from crosslead_router.retries import RetryPolicy
from tests.support.router import VAULT, agreement, lead, partner

SHOP = partner("shop", "north")
FITTER = partner("fitter", "north")
LEASE = timedelta(seconds=60)


pytestmark = pytest.mark.schema("router")


@pytest.fixture(autouse=True)
async def _three_routed_leads(db: Database) -> None:
    now = datetime.now(UTC)
    async with db.transaction() as session:
        for each in (SHOP, FITTER):
            await service.record_partner(session, each.registered(), at=now)
        await service.record_agreement(session, agreement("agr", SHOP.id, FITTER.id), at=now)
        for n in range(3):
            await routing.route_lead(session, lead(f"lead-{n}", SHOP.id, region="north"))


async def test_concurrent_claims_take_disjoint_deliveries(db: Database) -> None:
    if db.is_sqlite:
        # SQLite has one writer: the second claim waits for the first to commit.
        async with db.transaction() as first:
            mine = await delivery.claim_due(first, now=utcnow(), limit=2, lease=LEASE, vault=VAULT)
        async with db.transaction() as second:
            theirs = await delivery.claim_due(
                second, now=utcnow(), limit=10, lease=LEASE, vault=VAULT
            )
    else:
        # PostgreSQL: both transactions are open at once; SKIP LOCKED keeps them apart.
        async with db.transaction() as first:
            mine = await delivery.claim_due(first, now=utcnow(), limit=2, lease=LEASE, vault=VAULT)
            async with db.transaction() as second:
                theirs = await delivery.claim_due(
                    second, now=utcnow(), limit=10, lease=LEASE, vault=VAULT
                )
    assert len(mine) == 2
    assert len(theirs) == 1
    assert {j.lead_id for j in mine} | {j.lead_id for j in theirs} == {
        "lead-0",
        "lead-1",
        "lead-2",
    }
    async with db.transaction() as third:
        assert (
            await delivery.claim_due(third, now=utcnow(), limit=10, lease=LEASE, vault=VAULT) == []
        )


async def test_a_failed_attempt_releases_the_lease_for_its_retry(db: Database) -> None:
    async with db.transaction() as session:
        [job, *_] = await delivery.claim_due(
            session, now=utcnow(), limit=1, lease=LEASE, vault=VAULT
        )
    assert job.attempt == 1
    assert job.url is None  # the fitter has no endpoint yet
    failed = Outcome(utcnow(), None, None, "partner fitter has no active webhook endpoint", 0)
    policy = RetryPolicy(schedule=(0.0,), max_attempts=5, jitter=0)
    async with db.transaction() as session:
        await delivery.record_outcome(session, job, failed, policy, random.Random(0))
    async with db.transaction() as session:
        retried = await delivery.claim_due(
            session, now=utcnow(), limit=10, lease=LEASE, vault=VAULT
        )
    again = [j for j in retried if j.delivery_id == job.delivery_id]
    assert [(j.webhook_id, j.body, j.attempt) for j in again] == [(job.webhook_id, job.body, 2)]


async def test_the_limit_is_per_endpoint_and_each_endpoint_gets_its_turn(db: Database) -> None:
    """A partner with two endpoints: each has its own limit, and the one with the older
    backlog does not crowd the other out of a claim (one from each in turn)."""
    async with db.transaction() as session:
        busy = await endpoints.create(session, "multi", "https://busy.example.com/hooks", None)
        quiet = await endpoints.create(session, "multi", "https://quiet.example.com/hooks", None)
    for endpoint_id, count in ((busy.id, 6), (quiet.id, 3)):
        async with db.transaction() as session:
            for _ in range(count):
                await endpoints.send_test(session, None, endpoint_id)

    # 6 places, one to each in turn: the fitter's offers (the oldest), the busy endpoint's,
    # the quiet one's; oldest first would have given the quiet endpoint none.
    async with db.transaction() as session:
        jobs = await delivery.claim_due(
            session, now=utcnow(), limit=6, lease=LEASE, per_endpoint=10, taken={}, vault=VAULT
        )
    assert sorted(str(j.endpoint_id) for j in jobs if j.partner_id == "multi") == sorted(
        [busy.id, busy.id, quiet.id, quiet.id]
    )

    # Both now have claims in flight: the busy one is at its limit, the quiet one has room.
    async with db.transaction() as session:
        more = await delivery.claim_due(
            session,
            now=utcnow(),
            limit=10,
            lease=LEASE,
            per_endpoint=2,
            taken={busy.id: 2, quiet.id: 1},
            vault=VAULT,
        )
    assert [j.endpoint_id for j in more if j.partner_id == "multi"] == [quiet.id]
