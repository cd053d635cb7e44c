"""A real broker in tests: publishing CloudEvents the way the outbox relay does, and reading
topics from the start without joining a consumer group."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from crosslead_common.events import EVENT_TYPES, Envelope, EventData
from crosslead_common.kafka import create_producer
from crosslead_local.localstack import LocalBroker

__all__ = [
    "SESSION_TIMEOUT_SECONDS",
    "consumer_record",
    "publish",
    "read_records",
    "read_until",
]

#: Consumer session timeout of services under test: the embedded broker answers a group's
#: first join after half of it (one second at the least), instead of five seconds by default.
SESSION_TIMEOUT_SECONDS = 2.0


async def publish(broker: LocalBroker, *events: EventData | Envelope) -> list[Envelope]:
    """Publish each event as a CloudEvent on its topic, keyed by its subject, in order."""
    producer = create_producer(broker.bootstrap_servers, client_id="test")
    await producer.start()
    sent = []
    try:
        for item in events:
            envelope = item if isinstance(item, Envelope) else Envelope.wrap(item, source="test")
            await producer.send_and_wait(
                EVENT_TYPES[envelope.type].topic,
                value=envelope.to_bytes(),
                key=envelope.subject.encode(),
            )
            sent.append(envelope)
    finally:
        await producer.stop()
    return sent


def consumer_record(envelope: Envelope, offset: int = 0) -> ConsumerRecord[bytes, bytes]:
    """``envelope`` as a consumer receives it from its topic."""
    return ConsumerRecord(
        topic=EVENT_TYPES[envelope.type].topic,
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=envelope.subject.encode(),
        value=envelope.to_bytes(),
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=0,
        headers=[],
    )


async def read_records(
    broker: LocalBroker, topic: str, count: int, timeout: float = 30
) -> list[ConsumerRecord[bytes, bytes]]:
    """The first ``count`` records on ``topic`` (headers included), waiting for them."""
    records: list[ConsumerRecord[bytes, bytes]] = []

    def done(batch: list[ConsumerRecord[bytes, bytes]]) -> bool:
        records.extend(batch)
        return len(records) >= count

    await _read(broker, topic, done, timeout)
    return records


async def read_until(
    broker: LocalBroker,
    topic: str,
    done: Callable[[list[Envelope]], bool],
    timeout: float = 30,
) -> list[Envelope]:
    """Every event on ``topic`` from the start, once ``done`` holds for them."""
    seen: list[Envelope] = []

    def more(batch: list[ConsumerRecord[bytes, bytes]]) -> bool:
        seen.extend(Envelope.model_validate_json(r.value) for r in batch if r.value)
        return done(seen)

    await _read(broker, topic, more, timeout)
    return seen


async def _read(
    broker: LocalBroker,
    topic: str,
    done: Callable[[list[ConsumerRecord[bytes, bytes]]], bool],
    timeout: float,
) -> None:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest"
    )
    seen: list[Any] = []
    try:
        async with asyncio.timeout(timeout):
            await consumer.start()
            if done([]):
                return
            while True:
                batch = [r for rs in (await consumer.getmany(timeout_ms=200)).values() for r in rs]
                seen.extend(batch)
                if done(batch):
                    return
    except TimeoutError:
        raise AssertionError(f"expected records not seen on {topic}: {seen}") from None
    finally:
        await consumer.stop()
