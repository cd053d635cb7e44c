"""Reads gauges that live in the database (the outbox backlog) every few seconds."""

from __future__ import annotations

import asyncio
import logging

from crosslead_common.db import Database, utcnow
from crosslead_common.observability.metrics import OUTBOX_OLDEST_AGE, OUTBOX_PENDING
from crosslead_common.outbox import Outbox

__all__ = ["OutboxSampler"]

log = logging.getLogger(__name__)


class OutboxSampler:
    def __init__(
        self, db: Database, outbox: Outbox, *, service: str, interval: float = 5.0
    ) -> None:
        self._db = db
        self._outbox = outbox
        self._service = service
        self._interval = interval

    async def sample(self) -> None:
        async with self._db.sessionmaker() as session:
            pending, oldest = await self._outbox.pending(session)
        OUTBOX_PENDING.labels(service=self._service).set(pending)
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        OUTBOX_OLDEST_AGE.labels(service=self._service).set(max(age, 0.0))

    async def run(self) -> None:
        while True:
            try:
                await self.sample()
            except Exception:
                log.warning("reading the outbox backlog failed; retrying", exc_info=True)
            await asyncio.sleep(self._interval)
