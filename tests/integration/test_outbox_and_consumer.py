"""The outbox relay and the idempotent consumer of crosslead_common, on the real broker and
real databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import Database
from crosslead_common.events import Envelope, LeadAccepted, Topic, dlq_topic
from crosslead_common.kafka import (
    EventConsumer,
    Handlers,
    InvalidEvent,
    ensure_topics,
    processed_events_table,
)
from crosslead_common.outbox import Outbox, OutboxRelay
from crosslead_local.localstack import LocalBroker
from tests.support import eventually
from tests.support.kafka import SESSION_TIMEOUT_SECONDS, consumer_record, read_records
from tests.support.services import running

metadata = MetaData()
outbox = Outbox(metadata, source="crosslead/test")
processed = processed_events_table(metadata)
acceptances = Table("acceptances", metadata, Column("lead_id", String(64)), Column("n", Integer))


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Database]:
    """A database with only the library's outbox and processed-events tables and a test one."""
    database = Database(database_url)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield database
    await database.dispose()


def consumer(store: Database, broker: LocalBroker, producer: AIOKafkaProducer) -> EventConsumer:
    return EventConsumer(
        db=store,
        processed=processed,
        producer=producer,
        bootstrap_servers=broker.bootstrap_servers,
        group_id="test-consumer",
        topics=[Topic.LEADS],
        handlers=counting_handlers(),
        session_timeout_seconds=SESSION_TIMEOUT_SECONDS,
    )


async def add_then_fail(store: Database) -> None:
    async with store.transaction() as session:
        await outbox.add(session, LeadAccepted(lead_id="lead_1", partner_id="ghost"))
        raise RuntimeError("abort")


async def test_relay_publishes_committed_events_in_order_and_marks_them_sent(
    broker: LocalBroker, store: Database, producer: AIOKafkaProducer
) -> None:
    await ensure_topics(broker.bootstrap_servers, partitions=3)
    async with running(OutboxRelay(store, outbox, producer, poll_interval=30).run):
        async with store.transaction() as session:
            for n in range(5):
                await outbox.add(session, LeadAccepted(lead_id="lead_1", partner_id=f"p{n}"))
        # A rolled-back transaction publishes nothing.
        with pytest.raises(RuntimeError):
            await add_then_fail(store)

        # The relay polls only every 30 s: seeing the events promptly means it was woken.
        records = await read_records(broker, Topic.LEADS, 5)
        partners = [Envelope.model_validate_json(r.value).data["partner_id"] for r in records]
        assert partners == ["p0", "p1", "p2", "p3", "p4"]

        async def all_marked() -> bool:
            async with store.sessionmaker() as session:
                unsent = await session.scalar(
                    select(func.count()).where(outbox.table.c.published_at.is_(None))
                )
            return unsent == 0

        assert await eventually(all_marked)


def counting_handlers() -> Handlers:
    handlers = Handlers()

    @handlers.on(LeadAccepted)
    async def count(session: AsyncSession, event: LeadAccepted, envelope: Envelope) -> None:
        if event.partner_id == "explode":
            raise InvalidEvent("partner 'explode' cannot accept")
        await session.execute(acceptances.insert().values(lead_id=event.lead_id, n=1))

    return handlers


async def test_consumer_applies_a_redelivered_event_once_and_dead_letters_poison(
    broker: LocalBroker, store: Database, producer: AIOKafkaProducer
) -> None:
    await ensure_topics(broker.bootstrap_servers, partitions=3)
    event = Envelope.wrap(LeadAccepted(lead_id="lead_7", partner_id="p1"), source="test")
    poison = Envelope.wrap(LeadAccepted(lead_id="lead_8", partner_id="explode"), source="test")
    for value in (event.to_bytes(), b"{not json", event.to_bytes(), poison.to_bytes()):
        await producer.send_and_wait(Topic.LEADS, value=value, key=b"lead_7")
    async with running(consumer(store, broker, producer).run):
        dead = await read_records(broker, dlq_topic(Topic.LEADS), 2)
        assert [r.value for r in dead] == [b"{not json", poison.to_bytes()]
        async with store.sessionmaker() as session:
            rows = (await session.execute(select(acceptances.c.lead_id))).scalars().all()
        assert rows == ["lead_7"]

    # A new consumer in the same group resumes after the committed offsets: the event sent
    # once more is not applied again, and a new event behind it (same key, so the same
    # partition, in order) shows when the consumer has got that far.
    marker = Envelope.wrap(LeadAccepted(lead_id="lead_9", partner_id="p1"), source="test")
    for value in (event.to_bytes(), marker.to_bytes()):
        await producer.send_and_wait(Topic.LEADS, value=value, key=b"lead_7")
    async with running(consumer(store, broker, producer).run):

        async def applied() -> list[str] | None:
            async with store.sessionmaker() as session:
                rows = (await session.execute(select(acceptances.c.lead_id))).scalars().all()
            return list(rows) if "lead_9" in rows else None

        assert sorted(await eventually(applied, timeout=30)) == ["lead_7", "lead_9"]


async def test_a_fetched_batch_is_applied_together_and_a_poison_event_goes_alone_to_the_dlq(
    broker: LocalBroker, store: Database, producer: AIOKafkaProducer
) -> None:
    await ensure_topics(broker.bootstrap_servers, partitions=3)
    leads = [
        Envelope.wrap(LeadAccepted(lead_id=f"lead_{n}", partner_id="p1"), source="t")
        for n in range(4)
    ]
    poison = Envelope.wrap(LeadAccepted(lead_id="lead_x", partner_id="explode"), source="t")
    sent = [leads[0], leads[1], leads[0], poison, leads[2], leads[3]]
    records = [consumer_record(envelope, offset) for offset, envelope in enumerate(sent)]
    batches = consumer(store, broker, producer)

    # A batch whose events all apply: together, each once, in order.
    assert await batches.process_batch(records[:3]) == ["applied", "applied", "duplicate"]
    # A poison event among them: the others are applied, each once, and it alone is parked.
    assert await batches.process_batch(records) == [
        "duplicate",
        "duplicate",
        "duplicate",
        "dead_lettered",
        "applied",
        "applied",
    ]
    [dead] = await read_records(broker, dlq_topic(Topic.LEADS), 1)
    assert dead.value == poison.to_bytes()
    async with store.sessionmaker() as session:
        rows = (await session.execute(select(acceptances.c.lead_id))).scalars().all()
    assert sorted(rows) == ["lead_0", "lead_1", "lead_2", "lead_3"]
