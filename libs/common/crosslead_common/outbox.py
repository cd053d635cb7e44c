"""The transactional outbox and its relay.

A service never publishes to Kafka inside its transaction. It writes each event as an outbox
row in the same transaction as the change the event describes; after commit the relay is
woken, publishes the rows in id order (acks=all) and marks them sent. If the process dies
between publishing and marking, the rows are published again: consumers are idempotent by
event id, so at-least-once publishing yields exactly-once effects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any, cast

from aiokafka import AIOKafkaProducer
from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import Database, UTCDateTime, request_wakeup, utcnow
from crosslead_common.events import Envelope, EventData
from crosslead_common.observability.metrics import EVENTS_PUBLISHED
from crosslead_common.observability.tracing import current_traceparent

__all__ = ["OUTBOX_WAKEUP", "Outbox", "OutboxRelay"]

log = logging.getLogger(__name__)

OUTBOX_WAKEUP = "outbox"


class Outbox:
    """Writes events into a service's ``outbox`` table, inside the caller's transaction."""

    def __init__(self, metadata: MetaData, *, source: str) -> None:
        self.source = source
        self.table = Table(
            "outbox",
            metadata,
            # SQLite only auto-increments an INTEGER primary key.
            Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
            Column("event_id", String(64), nullable=False, unique=True),
            Column("topic", String(200), nullable=False),
            Column("key", String(200), nullable=False),
            Column("payload", Text, nullable=False),
            Column("created_at", UTCDateTime, nullable=False),
            Column("published_at", UTCDateTime, nullable=True),
            Index("ix_outbox_unpublished", "published_at", "id"),
        )

    async def add(self, session: AsyncSession, data: EventData) -> Envelope:
        """Record ``data`` for publication once the session's transaction commits."""
        # The trace of the request or event that caused this one continues in its consumers.
        envelope = Envelope.wrap(data, source=self.source, traceparent=current_traceparent())
        await session.execute(
            self.table.insert().values(
                event_id=envelope.id,
                topic=data.topic,
                key=envelope.subject,
                payload=envelope.model_dump_json(),
                created_at=envelope.time,
            )
        )
        request_wakeup(session, OUTBOX_WAKEUP)
        return envelope

    async def mark_all_unpublished(self, session: AsyncSession) -> int:
        """Queue every published row for publication again; returns how many."""
        t = self.table
        result = await session.execute(
            update(t).where(t.c.published_at.is_not(None)).values(published_at=None)
        )
        request_wakeup(session, OUTBOX_WAKEUP)
        return int(cast(CursorResult[Any], result).rowcount)

    async def pending(self, session: AsyncSession) -> tuple[int, datetime | None]:
        """How many rows wait to be published, and when the oldest of them was written."""
        t = self.table
        row = (
            await session.execute(
                select(func.count(), func.min(t.c.created_at)).where(t.c.published_at.is_(None))
            )
        ).one()
        return int(row[0]), row[1]


class OutboxRelay:
    """Publishes committed outbox rows; woken after each commit, polling as a fallback."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        producer: AIOKafkaProducer,
        *,
        poll_interval: float = 1.0,
        batch_size: int = 500,
        service: str = "",
    ) -> None:
        self._service = service
        self._db = db
        self._table = outbox.table
        self._producer = producer
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._wakeup = db.wakeup(OUTBOX_WAKEUP)

    async def run(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                published = await self.publish_pending()
            except Exception:
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(self._poll_interval)
                continue
            if published < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._poll_interval)

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished rows in id order; returns how many."""
        t = self._table
        async with self._db.transaction() as session:
            # FOR UPDATE (no SKIP LOCKED): a second replica's relay waits for this batch
            # instead of publishing later rows first, which would break per-key order.
            rows = (
                await session.execute(
                    select(t.c.id, t.c.topic, t.c.key, t.c.payload)
                    .where(t.c.published_at.is_(None))
                    .order_by(t.c.id)
                    .limit(self._batch_size)
                    .with_for_update()
                )
            ).all()
            if not rows:
                return 0
            pending = [
                await self._producer.send(
                    row.topic, value=row.payload.encode(), key=row.key.encode()
                )
                for row in rows
            ]
            await asyncio.gather(*pending)
            await session.execute(
                update(t).where(t.c.id.in_([row.id for row in rows])).values(published_at=utcnow())
            )
        for row in rows:
            EVENTS_PUBLISHED.labels(service=self._service, topic=row.topic).inc()
        return len(rows)
