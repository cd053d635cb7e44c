"""The outbox relay and the idempotent consumer of crosslead_common, on the real broker and
real databases."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import Database
from crosslead_common.events import Envelope, LeadAccepted, Topic, dlq_topic
from crosslead_common.kafka import (
    EventConsumer,
    Handlers,
    InvalidEvent,
    create_producer,
    ensure_topics,
    processed_events_table,
)
from crosslead_common.outbox import Outbox, OutboxRelay
from crosslead_local.localstack import LocalBroker
from tests.support import eventually

metadata = MetaData()
outbox = Outbox(metadata, source="crosslead/test")
processed = processed_events_table(metadata)
acceptances = Table("acceptances", metadata, Column("lead_id", String(64)), Column("n", Integer))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield database
    await database.dispose()


async def read_topic(broker: LocalBroker, topic: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest"
    )
    values: list[bytes] = []
    try:
        async with asyncio.timeout(20):
            await consumer.start()
            while len(values) < count:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    values.extend(r.value for r in records if r.value is not None)
    finally:
        await consumer.stop()
    return values


async def add_then_fail(db: Database) -> None:
    async with db.transaction() as session:
        await outbox.add(session, LeadAccepted(lead_id="lead_1", partner_id="ghost"))
        raise RuntimeError("abort")


async def test_relay_publishes_committed_events_in_order_and_marks_them_sent(
    broker: LocalBroker, db: Database
) -> None:
    await ensure_topics(broker.bootstrap_servers, partitions=3)
    producer = create_producer(broker.bootstrap_servers, client_id="test")
    await producer.start()
    relay_task = asyncio.create_task(OutboxRelay(db, outbox, producer, poll_interval=30).run())
    try:
        async with db.transaction() as session:
            for n in range(5):
                await outbox.add(session, LeadAccepted(lead_id="lead_1", partner_id=f"p{n}"))
        # A rolled-back transaction publishes nothing.
        with pytest.raises(RuntimeError):
            await add_then_fail(db)

        # The relay polls only every 30 s: seeing the events promptly means it was woken.
        values = await read_topic(broker, Topic.LEADS, 5)
        partners = [Envelope.model_validate_json(v).data["partner_id"] for v in values]
        assert partners == ["p0", "p1", "p2", "p3", "p4"]

        async def all_marked() -> bool:
            async with db.sessionmaker() as session:
                unsent = await session.scalar(
                    select(func.count()).where(outbox.table.c.published_at.is_(None))
                )
            return unsent == 0

        assert await eventually(all_marked)
    finally:
        relay_task.cancel()
        await producer.stop()


def counting_handlers() -> Handlers:
    handlers = Handlers()

    @handlers.on(LeadAccepted)
    async def count(session: AsyncSession, event: LeadAccepted, envelope: Envelope) -> None:
        if event.partner_id == "explode":
            raise InvalidEvent("partner 'explode' cannot accept")
        await session.execute(acceptances.insert().values(lead_id=event.lead_id, n=1))

    return handlers


async def test_consumer_applies_a_redelivered_event_once_and_dead_letters_poison(
    broker: LocalBroker, db: Database
) -> None:
    await ensure_topics(broker.bootstrap_servers, partitions=3)
    producer = create_producer(broker.bootstrap_servers, client_id="test")
    await producer.start()
    event = Envelope.wrap(LeadAccepted(lead_id="lead_7", partner_id="p1"), source="test")
    poison = Envelope.wrap(LeadAccepted(lead_id="lead_8", partner_id="explode"), source="test")
    # From a newer producer (a rolling deploy): a field and an attribute this reader lacks.
    newer = Envelope.wrap(LeadAccepted(lead_id="lead_9", partner_id="p2"), source="test")
    newer_raw = json.loads(newer.to_bytes())
    newer_raw["data"]["accepted_via"] = "crm"
    newer_raw["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    values = [event.to_bytes(), b"{not json", event.to_bytes(), json.dumps(newer_raw).encode()]
    for value in (*values, poison.to_bytes()):
        await producer.send_and_wait(Topic.LEADS, value=value, key=b"lead_7")
    consumer = EventConsumer(
        db=db,
        processed=processed,
        producer=producer,
        bootstrap_servers=broker.bootstrap_servers,
        group_id="test-consumer",
        topics=[Topic.LEADS],
        handlers=counting_handlers(),
    )
    task = asyncio.create_task(consumer.run())
    try:
        dead = await read_topic(broker, dlq_topic(Topic.LEADS), 2)
        assert dead == [b"{not json", poison.to_bytes()]
        async with db.sessionmaker() as session:
            rows = (await session.execute(select(acceptances.c.lead_id))).scalars().all()
        assert rows == ["lead_7", "lead_9"]  # the newer event is applied, not dead-lettered
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await producer.stop()

    # A new consumer in the same group resumes after the committed offsets: nothing re-applied.
    producer = create_producer(broker.bootstrap_servers, client_id="test")
    await producer.start()
    again = EventConsumer(
        db=db,
        processed=processed,
        producer=producer,
        bootstrap_servers=broker.bootstrap_servers,
        group_id="test-consumer",
        topics=[Topic.LEADS],
        handlers=counting_handlers(),
    )
    await producer.send_and_wait(Topic.LEADS, value=event.to_bytes(), key=b"lead_7")
    task = asyncio.create_task(again.run())
    try:
        await asyncio.sleep(5)
        async with db.sessionmaker() as session:
            count = await session.scalar(select(func.count()).select_from(acceptances))
        assert count == 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await producer.stop()
