"""``python -m tests.bench.routing``: routing decisions per second with 100 candidate partners,
against a baseline measured in the same run: the same with 1 candidate.

Each decision is the real path a received lead takes in the router: one write transaction that
loads the source's agreements and partners, the offer history (size, reciprocity, acceptance,
conversion), the capacity counters, ranks every candidate, takes capacity with the conditional
UPDATE, and writes the offer, its delivery, the decision and the outbox event. Leads are routed
one after another, as one consumer partition does. SQLite always; PostgreSQL too when
``TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from crosslead_common.db import Database
from crosslead_common.migrations import upgrade
from crosslead_router import routing, service
from crosslead_router.cli import MIGRATIONS
from crosslead_router.models import Base
from tests.support.databases import TEST_POSTGRES_URL, postgres_database
from tests.support.router import agreement, lead, partner

CANDIDATES = 100
WARM_UP = 20
DECISIONS = 300


async def decisions_per_second(url: str, candidates: int) -> float:
    await upgrade(url, MIGRATIONS, Base.metadata)
    db = Database(url)
    try:
        # Capacity to spare (every decision takes some), sizes spread around the source's.
        source = partner("source", "berlin", capacity_per_day=1000)
        targets = [
            partner(f"target-{n:03}", "berlin", capacity_per_day=500 + n * 10)
            for n in range(candidates)
        ]
        now = datetime.now(UTC)
        async with db.transaction() as session:
            for each in (source, *targets):
                await service.record_partner(session, each.registered(), at=now)
            for each in targets:
                await service.record_agreement(
                    session, agreement(f"agr-{each.id}", source.id, each.id), at=now
                )

        async def route(n: int) -> None:
            async with db.transaction() as session:
                outcome = await routing.route_lead(session, lead(f"lead-{n}", source.id, "berlin"))
            assert outcome == "routed"

        for n in range(WARM_UP):
            await route(n)
        started = time.perf_counter()
        for n in range(WARM_UP, WARM_UP + DECISIONS):
            await route(n)
        return DECISIONS / (time.perf_counter() - started)
    finally:
        await db.dispose()


@asynccontextmanager
async def sqlite_database() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite+aiosqlite:///{Path(tmp) / 'router.db'}"


async def bench(backend: str) -> None:
    fresh = postgres_database if backend == "postgresql" else sqlite_database

    async with fresh() as url:
        baseline = await decisions_per_second(url, 1)
    async with fresh() as url:
        many = await decisions_per_second(url, CANDIDATES)
    print(
        f"{backend:>10}: {many:7.1f} routing decisions/s with {CANDIDATES} candidates; "
        f"baseline (1 candidate, same path) {baseline:7.1f}/s; ratio {many / baseline:.2f}"
    )


async def main() -> None:
    await bench("sqlite")
    if TEST_POSTGRES_URL:
        await bench("postgresql")


if __name__ == "__main__":
    asyncio.run(main())
