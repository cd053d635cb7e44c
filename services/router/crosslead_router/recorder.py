"""Writes the outcomes of webhook attempts in batches: every outcome that arrived while the
previous batch was being written goes into the next transaction together. With many attempts
in flight this turns one write transaction per attempt into one per batch, which is what lets
the dispatcher send as fast as partners answer (SQLite has a single writer)."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import Database
from crosslead_router import delivery
from crosslead_router.delivery import Job, Outcome
from crosslead_router.retries import RetryPolicy

__all__ = ["OutcomeRecorder"]

log = logging.getLogger(__name__)

Pending = tuple[Job, Outcome, "asyncio.Future[None]"]


class OutcomeRecorder:
    def __init__(
        self,
        db: Database,
        policy: RetryPolicy,
        rng: random.Random,
        disable_after: timedelta,
    ) -> None:
        self._db, self._policy, self._rng = db, policy, rng
        self._disable_after = disable_after
        self._pending: list[Pending] = []
        self._ready = asyncio.Event()

    async def record(self, job: Job, outcome: Outcome) -> None:
        """Returns once the outcome is written (or writing it failed: then the claim's lease
        runs out and the attempt is made again)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((job, outcome, done))
        self._ready.set()
        await done

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            batch, self._pending = self._pending, []
            try:
                await self._write(batch)
            finally:
                for _, _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _write(self, batch: list[Pending]) -> None:
        # One order for every batch, so two replicas' batches lock rows in the same order.
        batch.sort(key=lambda item: (item[0].lead_id or "", item[0].delivery_id))
        try:
            async with self._db.transaction() as session:
                await delivery.record_outcomes(
                    session,
                    [(job, outcome) for job, outcome, _ in batch],
                    self._policy,
                    self._rng,
                    disable_after=self._disable_after,
                )
            return
        except Exception:
            if len(batch) == 1:
                log.exception(
                    "recording attempt %d of %s failed",
                    batch[0][0].attempt,
                    batch[0][0].delivery_id,
                )
                return
            log.exception("recording %d attempts together failed; recording each alone", len(batch))
        for job, outcome, _ in batch:
            try:
                async with self._db.transaction() as session:
                    await self._one(session, job, outcome)
            except Exception:
                log.exception("recording attempt %d of %s failed", job.attempt, job.delivery_id)

    async def _one(self, session: AsyncSession, job: Job, outcome: Outcome) -> None:
        await delivery.record_outcome(
            session,
            job,
            outcome,
            self._policy,
            self._rng,
            disable_after=self._disable_after,
        )
