"""Retention: rows a service needs only for a while are deleted once that while is over.

Every service prunes its outbox (rows published longer ago than ``outbox_retention_days``)
and its processed-event ids (applied longer ago than ``processed_events_retention_days``); a
service adds its own rules (the router: ended webhook deliveries and their attempts) with
:meth:`RetentionWorker.add`. The :class:`RetentionWorker` runs every rule in bounded batches,
one transaction per batch, every ``retention_interval_seconds``. Two replicas may prune at the
same time: a row deleted twice is deleted once.

Nothing is doubled by forgetting an event id, as long as the id outlives every copy of its
event that could still reach the consumer: an outbox row is published again only while it is
kept (``republish_if_broker_forgot``), and the broker keeps a published copy for its own
retention (``CROSSLEAD_KAFKA_RETENTION_DAYS``, Kafka's ``log.retention``). So the settings
refuse a ``processed_events_retention_days`` that is not longer than the outbox's retention
plus the broker's (defaults: 30 > 7 + 7).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, select, tuple_
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import Database, utcnow
from crosslead_common.outbox import Outbox

__all__ = ["Prune", "RetentionWorker", "delete_batch", "outbox_rule", "processed_events_rule"]

log = logging.getLogger(__name__)

#: Deletes up to ``limit`` rows that were due by ``now``; returns how many it deleted.
Prune = Callable[[AsyncSession, datetime, int], Awaitable[int]]


async def delete_batch(
    session: AsyncSession, table: Table, condition: ColumnElement[bool], limit: int
) -> int:
    """Delete up to ``limit`` rows of ``table`` matching ``condition`` in one statement
    (``DELETE ... WHERE <primary key> IN (SELECT <primary key> ... LIMIT n)``, bounded on every
    dialect); returns how many."""
    key = list(table.primary_key.columns)
    chosen = select(*key).where(condition).limit(limit)
    target = key[0] if len(key) == 1 else tuple_(*key)
    result = await session.execute(delete(table).where(target.in_(chosen)))
    return int(cast(CursorResult[Any], result).rowcount)


def outbox_rule(outbox: Outbox, kept: timedelta) -> Prune:
    """Outbox rows published more than ``kept`` ago (unpublished rows are never pruned)."""
    t = outbox.table

    async def prune(session: AsyncSession, now: datetime, limit: int) -> int:
        return await delete_batch(session, t, t.c.published_at < now - kept, limit)

    return prune


def processed_events_rule(processed: Table, kept: timedelta) -> Prune:
    """Ids of events applied more than ``kept`` ago."""

    async def prune(session: AsyncSession, now: datetime, limit: int) -> int:
        return await delete_batch(session, processed, processed.c.processed_at < now - kept, limit)

    return prune


class RetentionWorker:
    """Runs each rule in batches of ``batch_size`` (one transaction each) until a batch comes
    out short, then sleeps ``interval`` seconds."""

    def __init__(self, db: Database, *, interval: float, batch_size: int) -> None:
        self._db = db
        self._interval = interval
        self._batch = batch_size
        self._rules: list[tuple[str, Prune]] = []

    @property
    def rules(self) -> Sequence[str]:
        return [name for name, _ in self._rules]

    def add(self, name: str, prune: Prune) -> None:
        """Prune with ``prune`` too; ``name`` says what it deletes, in logs."""
        self._rules.append((name, prune))

    async def run(self) -> None:
        while True:
            await self.run_once()
            await asyncio.sleep(self._interval)

    async def run_once(self, now: datetime | None = None) -> dict[str, int]:
        """Prune everything due by ``now`` (default: the current time); returns how many rows
        each rule deleted. A rule that fails is logged and tried again next time."""
        now = now or utcnow()
        deleted: dict[str, int] = {}
        for name, prune in self._rules:
            total = 0
            try:
                while True:
                    async with self._db.transaction() as session:
                        count = await prune(session, now, self._batch)
                    total += count
                    if count < self._batch:
                        break
            except Exception:
                log.exception("pruning %s failed; trying again later", name)
            if total:
                log.info("pruned %d %s", total, name)
            deleted[name] = total
        return deleted
