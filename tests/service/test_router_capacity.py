"""Capacity counters on the real databases: the counters of windows long over are swept away,
and the current ones keep counting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crosslead_common.db import Database
from crosslead_router import repository
from crosslead_router.models import CapacityUsage
from crosslead_router.workers import capacity_sweeper

pytestmark = pytest.mark.schema("router")


async def test_counters_of_past_windows_are_swept_and_current_ones_still_count(
    db: Database,
) -> None:
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=3), now - timedelta(hours=2)
    windows = [
        f"day:{old.date().isoformat()}",
        f"hour:{old:%Y-%m-%dT%H}",
        f"day:{now.date().isoformat()}",
        f"hour:{recent:%Y-%m-%dT%H}",
        f"hour:{now:%Y-%m-%dT%H}",
    ]
    async with db.transaction() as session:
        session.add_all(CapacityUsage(partner_id="p", window=w, used=1) for w in windows)

    await capacity_sweeper(db).run_once()

    async with db.sessionmaker() as session:
        left = set(await session.scalars(select(CapacityUsage.window)))
    assert left == set(windows[2:])
    # The current hour still holds its count: a limit of 1 is reached.
    async with db.transaction() as session:
        hour = (f"hour:{now:%Y-%m-%dT%H}", 1)
        assert not await repository.take_capacity(session, "p", [hour])
