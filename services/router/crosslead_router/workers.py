"""The router's timed workers beside the Kafka consumer and the dispatcher:

- the deadline watcher expires offers nobody accepted by their ``accept_by`` (plus a grace
  period: intake refuses answers after ``accept_by`` itself, and an acceptance it took just in
  time must still reach the router before the offer is expired here), withdraws them from the
  partner and offers the lead to the next candidate;
- the waiting router looks again at leads that nobody could take (capacity windows roll over,
  schedules open, partners are un-paused);
- the capacity sweeper deletes the counters of capacity windows that are long over;
- the secrets resealer seals endpoint secrets that are still under a previous at-rest key
  again under the current one (after a rotation of ``CROSSLEAD_ROUTER_SECRETS_KEY``).

Each is woken right after a commit that gave it work, and otherwise sleeps until its nearest
due time or the poll interval, whichever comes first.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import Database, utcnow
from crosslead_router import repository, routing, sealing
from crosslead_router.dispatcher import wait_for_work
from crosslead_router.models import WebhookEndpoint
from crosslead_router.routing import RoutingPolicy
from crosslead_router.service import DEADLINES_WAKEUP, WAITING_WAKEUP
from crosslead_router.settings import RouterSettings

__all__ = [
    "DueWorker",
    "capacity_sweeper",
    "deadline_watcher",
    "reseal_secrets",
    "secrets_resealer",
    "waiting_router",
]

log = logging.getLogger(__name__)

BATCH = 100
#: Capacity counters are kept this long after their window began (local days included).
CAPACITY_KEPT = timedelta(days=2)


class DueWorker:
    """Runs ``work`` (one batch per transaction, returning how many items it handled) until a
    batch comes out short, then waits for the wake-up, ``next_due`` + ``lag`` or the poll."""

    def __init__(
        self,
        db: Database,
        *,
        what: str,
        wakeup: str,
        poll: float,
        work: Callable[[AsyncSession], Awaitable[int]],
        next_due: Callable[[AsyncSession], Awaitable[datetime | None]] | None = None,
        lag: timedelta = timedelta(0),
    ) -> None:
        self._db, self._what, self._poll = db, what, poll
        self._work, self._next_due, self._lag = work, next_due, lag
        self._wakeup = db.wakeup(wakeup)

    async def run(self) -> None:
        while True:
            self._wakeup.clear()
            if await self.run_once() < BATCH:
                await self._sleep()

    async def run_once(self) -> int:
        try:
            async with self._db.transaction() as session:
                return await self._work(session)
        except Exception:
            log.exception("%s failed; retrying", self._what)
            return 0

    async def _sleep(self) -> None:
        if self._next_due is None:
            await wait_for_work(self._wakeup, None, self._poll)
            return
        try:
            async with self._db.sessionmaker() as session:
                due = await self._next_due(session)
        except Exception:
            log.exception("%s: reading the next due time failed", self._what)
            due = None
        await wait_for_work(self._wakeup, due and due + self._lag, self._poll)


def deadline_watcher(db: Database, settings: RouterSettings, policy: RoutingPolicy) -> DueWorker:
    grace = timedelta(seconds=settings.deadline_grace_seconds)

    async def expire(session: AsyncSession) -> int:
        return await routing.expire_due(session, now=utcnow() - grace, limit=BATCH, policy=policy)

    return DueWorker(
        db,
        what="expiring offers",
        wakeup=DEADLINES_WAKEUP,
        poll=settings.dispatcher_poll_interval_seconds,
        work=expire,
        next_due=repository.next_deadline,
        lag=grace,
    )


def waiting_router(db: Database, settings: RouterSettings, policy: RoutingPolicy) -> DueWorker:
    async def recheck(session: AsyncSession) -> int:
        return await routing.recheck_waiting(session, now=utcnow(), limit=BATCH, policy=policy)

    return DueWorker(
        db,
        what="routing waiting leads",
        wakeup=WAITING_WAKEUP,
        poll=settings.waiting_recheck_seconds,
        work=recheck,
        next_due=repository.next_recheck,
    )


def capacity_sweeper(db: Database, poll_seconds: float = 3600.0) -> DueWorker:
    async def sweep(session: AsyncSession) -> int:
        pruned = await repository.prune_capacity(session, utcnow() - CAPACITY_KEPT)
        if pruned:
            log.info("deleted %d capacity counters of past windows", pruned)
        return 0  # one statement does it all: sleep until the next sweep

    return DueWorker(
        db,
        what="sweeping capacity counters",
        wakeup="capacity-sweep",
        poll=poll_seconds,
        work=sweep,
    )


async def reseal_secrets(session: AsyncSession, limit: int = BATCH) -> int:
    """Seal the secrets of up to ``limit`` endpoints that are under a previous at-rest key
    again under the current one; returns how many endpoints it changed."""
    e = WebhookEndpoint
    rows = await session.execute(select(e.id, e.sealed_secret, e.sealed_previous_secret))
    stale = [
        row.id
        for row in rows
        if not (
            sealing.is_current(row.sealed_secret) and sealing.is_current(row.sealed_previous_secret)
        )
    ][:limit]
    if not stale:
        return 0
    for endpoint in await session.scalars(select(e).where(e.id.in_(stale)).with_for_update()):
        endpoint.secret, endpoint.previous_secret = endpoint.secret, endpoint.previous_secret
    return len(stale)


def secrets_resealer(db: Database, poll_seconds: float = 3600.0) -> DueWorker:
    """Reseals right after the router starts (a rotation of the key restarts it), then hourly."""

    async def reseal(session: AsyncSession) -> int:
        count = await reseal_secrets(session)
        if count:
            log.info("sealed the secrets of %d endpoints again under the current key", count)
        return count

    return DueWorker(
        db,
        what="resealing endpoint secrets",
        wakeup="secrets-reseal",
        poll=poll_seconds,
        work=reseal,
    )
