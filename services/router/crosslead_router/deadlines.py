"""The deadline watcher: expires routed leads that nobody accepted by their ``accept_by``
(plus a grace period: intake refuses answers after ``accept_by`` itself, and an acceptance it
took just in time must still reach the router before the lead is expired here).

Woken when a lead is routed (its deadline may be the nearest), it otherwise sleeps until the
nearest deadline or the poll interval, whichever comes first.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from crosslead_common.db import Database, utcnow
from crosslead_router import delivery
from crosslead_router.dispatcher import wait_for_work
from crosslead_router.service import DEADLINES_WAKEUP
from crosslead_router.settings import RouterSettings

__all__ = ["DeadlineWatcher"]

log = logging.getLogger(__name__)

BATCH = 100


class DeadlineWatcher:
    def __init__(self, db: Database, settings: RouterSettings) -> None:
        self._db = db
        self._poll = settings.dispatcher_poll_interval_seconds
        self._grace = timedelta(seconds=settings.deadline_grace_seconds)
        self._wakeup = db.wakeup(DEADLINES_WAKEUP)

    async def run(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                expired = await self.expire_due()
            except Exception:
                log.exception("expiring leads failed; retrying")
                expired = 0
            if expired < BATCH:
                await self._sleep()

    async def expire_due(self) -> int:
        """Expire one batch of leads past their deadline; returns how many."""
        async with self._db.transaction() as session:
            return await delivery.expire_due(session, now=utcnow() - self._grace, limit=BATCH)

    async def _sleep(self) -> None:
        try:
            async with self._db.sessionmaker() as session:
                due = await delivery.next_deadline(session)
        except Exception:
            log.exception("reading the next deadline failed")
            due = None
        await wait_for_work(self._wakeup, due and due + self._grace, self._poll)
