"""Dead letters: the messages a consumer group parked in ``<topic>.dlq``, for an operator to
read and, once the cause is fixed, redrive.

A dead letter's id is ``<dlq topic>:<partition>:<offset>``. Its status is ``applied`` once the
consumer group has applied its event (by event id), else ``pending``. Redriving hands the
original message to the group's own idempotent consumer: it is applied once, a second redrive
is a duplicate, and a message that fails again is dead-lettered again with the new reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from sqlalchemy import Table, select

from crosslead_common.db import Database
from crosslead_common.events import UndecodableEvent, decode, dlq_topic
from crosslead_common.kafka import EventConsumer, KafkaAccess, client_config

__all__ = ["DeadLetter", "DeadLetters", "NoSuchDeadLetter"]

_OWN_HEADERS = ("x-crosslead-error", "x-crosslead-source", "x-crosslead-consumer")


class NoSuchDeadLetter(LookupError):
    """No dead letter of this service has that id."""


@dataclass(frozen=True)
class DeadLetter:
    id: str
    consumer: str
    reason: str
    source: str
    dead_lettered_at: datetime
    event_id: str | None
    event_type: str | None
    headers: dict[str, str]
    status: str = "pending"
    body: str | None = None  # only when one dead letter is shown

    def public(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class DeadLetters:
    """The dead letters of one service's consumer groups, read from the broker."""

    def __init__(
        self,
        *,
        db: Database,
        processed: Table,
        bootstrap_servers: str | KafkaAccess,
        consumers: Iterable[EventConsumer],
    ) -> None:
        self._db = db
        self._processed = processed
        self._bootstrap = bootstrap_servers
        self._consumers = {c.group_id: c for c in consumers}
        self._topics = sorted({dlq_topic(t) for c in self._consumers.values() for t in c.topics})

    async def all(self) -> list[DeadLetter]:
        """Every dead letter of this service, oldest first per partition."""
        letters = [self._letter(r) for r in await self._read_all() if self._mine(r)]
        return await self._with_status(letters)

    async def show(self, letter_id: str) -> DeadLetter:
        record = await self._read_one(letter_id)
        [letter] = await self._with_status([self._letter(record)])
        return dataclasses.replace(letter, body=(record.value or b"").decode(errors="replace"))

    async def redrive(self, letter_id: str) -> str:
        """Apply the dead letter's message again; returns ``applied``, ``duplicate`` or
        ``dead_lettered`` (it failed again)."""
        record = await self._read_one(letter_id)
        headers = _headers(record)
        topic, partition, offset = headers["x-crosslead-source"].rsplit("/", 2)
        original = dataclasses.replace(
            record, topic=topic, partition=int(partition), offset=int(offset)
        )
        return await self._consumers[headers["x-crosslead-consumer"]].process(original)

    def _mine(self, record: ConsumerRecord[bytes, bytes]) -> bool:
        return _headers(record).get("x-crosslead-consumer") in self._consumers

    def _letter(self, record: ConsumerRecord[bytes, bytes]) -> DeadLetter:
        headers = _headers(record)
        event_id: str | None = None
        event_type: str | None = None
        try:
            envelope = decode(record.value)
            event_id, event_type = envelope.id, envelope.type
        except UndecodableEvent:
            pass  # listed with its reason and body all the same
        return DeadLetter(
            id=f"{record.topic}:{record.partition}:{record.offset}",
            consumer=headers.get("x-crosslead-consumer", ""),
            reason=headers.get("x-crosslead-error", ""),
            source=headers.get("x-crosslead-source", ""),
            dead_lettered_at=datetime.fromtimestamp(record.timestamp / 1000, UTC),
            event_id=event_id,
            event_type=event_type,
            headers={k: v for k, v in headers.items() if k not in _OWN_HEADERS},
        )

    async def _with_status(self, letters: list[DeadLetter]) -> list[DeadLetter]:
        p = self._processed
        ids = [letter.event_id for letter in letters if letter.event_id]
        async with self._db.sessionmaker() as session:
            applied = set(
                (
                    await session.execute(
                        select(p.c.consumer, p.c.event_id).where(p.c.event_id.in_(ids))
                    )
                ).all()
            )
        return [
            dataclasses.replace(letter, status="applied")
            if (letter.consumer, letter.event_id) in applied
            else letter
            for letter in letters
        ]

    async def _read_all(self) -> list[ConsumerRecord[bytes, bytes]]:
        consumer = AIOKafkaConsumer(**client_config(self._bootstrap), enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = [
                TopicPartition(topic, p)
                for topic in self._topics
                for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            if not partitions:
                return []
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            records: list[ConsumerRecord[bytes, bytes]] = []
            waiting = {tp for tp in partitions if ends[tp] > 0}
            while waiting:
                for tp, batch in (await consumer.getmany(*waiting, timeout_ms=500)).items():
                    records.extend(r for r in batch if r.offset < ends[tp])
                    if batch and batch[-1].offset + 1 >= ends[tp]:
                        waiting.discard(tp)
            return records
        finally:
            await consumer.stop()

    async def _read_one(self, letter_id: str) -> ConsumerRecord[bytes, bytes]:
        topic, _, place = letter_id.partition(":")
        partition, _, offset = place.partition(":")
        if topic not in self._topics or not partition.isdigit() or not offset.isdigit():
            raise NoSuchDeadLetter(letter_id)
        tp = TopicPartition(topic, int(partition))
        consumer = AIOKafkaConsumer(**client_config(self._bootstrap), enable_auto_commit=False)
        await consumer.start()
        try:
            if int(partition) not in (consumer.partitions_for_topic(topic) or ()):
                raise NoSuchDeadLetter(letter_id)
            consumer.assign([tp])
            if int(offset) >= (await consumer.end_offsets([tp]))[tp]:
                raise NoSuchDeadLetter(letter_id)
            consumer.seek(tp, int(offset))
            record = await consumer.getone(tp)
        finally:
            await consumer.stop()
        if record.offset != int(offset) or not self._mine(record):
            raise NoSuchDeadLetter(letter_id)
        return record


def _headers(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    return {key: value.decode(errors="replace") for key, value in record.headers or ()}
