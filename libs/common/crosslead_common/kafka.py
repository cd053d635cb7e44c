"""Kafka producer and consumer helpers.

The consumer side implements the idempotent-consumer pattern: each event's effects and its id
(in ``processed_events``) are written in one transaction, and the offset is committed to Kafka
only after that commit. A redelivered event finds its id and changes nothing. The records
fetched from one partition are applied together, in one transaction, when none fails;
otherwise one by one. A message that is not a valid event, or that its handler rejects as
invalid, goes to ``<topic>.dlq`` with the reason and the partition moves on; anything else (a
database outage) is retried in place, so nothing is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from sqlalchemy import Column, Index, MetaData, PrimaryKeyConstraint, String, Table
from sqlalchemy.exc import OperationalError

from crosslead_common.applying import EventApplier, Handler, Handlers, InvalidEvent
from crosslead_common.db import Database, UTCDateTime
from crosslead_common.events import (
    ALL_TOPICS,
    Envelope,
    EventData,
    UndecodableEvent,
    decode,
    dlq_topic,
)
from crosslead_common.observability.handling import dead_lettered, handled, handling, traced
from crosslead_common.observability.metrics import CONSUMER_LAG, EVENTS_DEAD_LETTERED

__all__ = [
    "EventApplier",
    "EventConsumer",
    "Handlers",
    "InvalidEvent",
    "KafkaAccess",
    "client_config",
    "create_producer",
    "ensure_topics",
    "processed_events_table",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KafkaAccess:
    """Where the broker is and how a service proves who it is there (SASL) and checks the
    broker's certificate (TLS); every producer, consumer and admin client of a service is made
    from one of these. The password never appears in its ``repr``."""

    bootstrap_servers: str
    #: PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
    security_protocol: str = "PLAINTEXT"
    #: PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 (SASL protocols only)
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    #: CA certificates (PEM) the broker's certificate is checked against; None: the system's.
    ssl_cafile: str | None = None


def client_config(kafka: str | KafkaAccess) -> dict[str, Any]:
    """The connection arguments of an aiokafka client for ``kafka`` (a bare bootstrap list is
    plaintext, as the embedded broker of ``make run`` and the tests speak)."""
    access = KafkaAccess(kafka) if isinstance(kafka, str) else kafka
    config: dict[str, Any] = {
        "bootstrap_servers": access.bootstrap_servers,
        "security_protocol": access.security_protocol,
    }
    if access.security_protocol in ("SSL", "SASL_SSL"):
        config["ssl_context"] = create_ssl_context(cafile=access.ssl_cafile)
    if access.security_protocol.startswith("SASL_"):
        config["sasl_mechanism"] = access.sasl_mechanism
        config["sasl_plain_username"] = access.sasl_username
        config["sasl_plain_password"] = access.sasl_password
    return config


def create_producer(bootstrap_servers: str | KafkaAccess, *, client_id: str) -> AIOKafkaProducer:
    # The embedded broker supports neither idempotent producers nor transactions; the outbox
    # plus idempotent consumers give the guarantees instead.
    return AIOKafkaProducer(
        **client_config(bootstrap_servers),
        client_id=client_id,
        acks="all",
        enable_idempotence=False,
        request_timeout_ms=15000,
    )


async def ensure_topics(
    bootstrap_servers: str | KafkaAccess, *, partitions: int, replication: int = 1
) -> None:
    """Create the contract topics and their dead-letter topics if they do not exist yet."""
    wanted = [*ALL_TOPICS, *(dlq_topic(t) for t in ALL_TOPICS)]
    admin = AIOKafkaAdminClient(**client_config(bootstrap_servers), client_id="crosslead-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, partitions, replication) for t in wanted if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another service was first
                await admin.create_topics(missing)
    finally:
        await admin.close()


def processed_events_table(metadata: MetaData) -> Table:
    """Ids of events a consumer group has applied, written with the effects."""
    return Table(
        "processed_events",
        metadata,
        Column("consumer", String(100), nullable=False),
        Column("event_id", String(64), nullable=False),
        Column("processed_at", UTCDateTime, nullable=False),
        PrimaryKeyConstraint("consumer", "event_id"),
        Index("ix_processed_events_processed_at", "processed_at"),  # for pruning
    )


class EventConsumer:
    """Consumes ``topics`` in consumer group ``group_id`` and applies events exactly once.
    Within each fetched batch, partitions of earlier topics are applied first."""

    def __init__(
        self,
        *,
        db: Database,
        processed: Table,
        producer: AIOKafkaProducer,
        bootstrap_servers: str | KafkaAccess,
        group_id: str,
        topics: Iterable[str],
        handlers: Handlers,
        retry_delay: float = 0.5,
        max_retry_delay: float = 30.0,
        max_failures: int = 5,
        session_timeout_seconds: float = 10.0,
        fetch_max_wait_ms: int = 20,
        service: str = "",
    ) -> None:
        self._service = service
        self._db = db
        self._applier = EventApplier(
            db=db, processed=processed, group_id=group_id, handlers=handlers
        )
        self._producer = producer
        self._bootstrap = bootstrap_servers
        self._group_id = group_id
        self._topics = tuple(topics)
        self.group_id, self.topics = group_id, self._topics
        self._handlers = handlers
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay
        self._max_failures = max_failures
        self._session_timeout_ms = int(session_timeout_seconds * 1000)
        self._fetch_max_wait_ms = fetch_max_wait_ms

    async def run(self) -> None:
        for event_type in [*self._handlers.types(), "undecodable"]:
            # Zero from the start, so a rate over the series sees the first dead letter.
            EVENTS_DEAD_LETTERED.labels(self._service, self._group_id, event_type)
        consumer = self.new_consumer()
        try:
            await consumer.start()
            while True:
                batches = await consumer.getmany(timeout_ms=1000, max_records=500)
                # Topics are applied in the order given: an agreement fetched together with a
                # lead that was submitted after it must be known before the lead is matched.
                for tp, records in sorted(
                    batches.items(), key=lambda batch: self._topics.index(batch[0].topic)
                ):
                    await self.process_batch(records)
                    await consumer.commit({tp: records[-1].offset + 1})
                await self._measure_lag(consumer)
        finally:
            await consumer.stop()

    def new_consumer(self) -> AIOKafkaConsumer:
        """The (not yet started) Kafka consumer :meth:`run` uses."""
        return AIOKafkaConsumer(
            *self._topics,
            **client_config(self._bootstrap),
            group_id=self._group_id,
            client_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self._session_timeout_ms,
            heartbeat_interval_ms=min(1000, self._session_timeout_ms // 3),
            # The embedded broker answers a long poll only when it times out, not when data
            # arrives: a short wait keeps hand-off latency low at a small idle cost.
            fetch_max_wait_ms=self._fetch_max_wait_ms,
        )

    async def _measure_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is not None:
                lag = max(highwater - await consumer.position(tp), 0)
                CONSUMER_LAG.labels(
                    service=self._service,
                    group=self._group_id,
                    topic=tp.topic,
                    partition=tp.partition,
                ).set(lag)

    async def process_batch(self, records: list[ConsumerRecord[bytes, bytes]]) -> list[str]:
        """Apply the records fetched from one partition, in order: in one transaction when
        they all decode and every handler succeeds, else one by one (so a message that cannot
        be applied goes alone to the DLQ); returns each one's outcome as :meth:`process`."""
        if len(records) > 1:
            outcomes = await self._apply_together(records)
            if outcomes is not None:
                return outcomes
        return [await self.process(record) for record in records]

    async def _apply_together(
        self, records: list[ConsumerRecord[bytes, bytes]]
    ) -> list[str] | None:
        events: list[tuple[Envelope, EventData]] = []
        for record in records:
            try:
                envelope = decode(record.value)
                events.append((envelope, envelope.payload()))
            except UndecodableEvent:
                return None
        try:
            applied = await self._applier.apply_batch(events, around=_traced)
        except Exception as exc:
            log.warning(
                "applying %d events together failed (%s); applying them one by one",
                len(events),
                type(exc).__name__,
            )
            return None
        outcomes = []
        for (envelope, _), now in zip(events, applied, strict=True):
            if self._handlers.get(envelope.type) is None:
                outcomes.append("ignored")
                continue
            outcome = "applied" if now else "duplicate"
            handled(envelope, outcome, service=self._service, group=self._group_id)
            outcomes.append(outcome)
        return outcomes

    async def process(self, record: ConsumerRecord[bytes, bytes]) -> str:
        """Apply one message; returns once it is ``applied``, skipped as a ``duplicate``,
        ``ignored`` (a type this group does not handle) or ``dead_lettered``."""
        try:
            envelope = decode(record.value)
            data = envelope.payload()
        except UndecodableEvent as exc:
            await self._dead_letter(record, str(exc))
            dead_lettered(service=self._service, group=self._group_id, event_type="undecodable")
            return "dead_lettered"
        handler = self._handlers.get(envelope.type)
        if handler is None:
            return "ignored"  # an event this service does not care about
        with handling(envelope, service=self._service, group=self._group_id) as state:
            state.outcome = await self._handle(record, handler, data, envelope)
        return state.outcome

    async def _handle(
        self,
        record: ConsumerRecord[bytes, bytes],
        handler: Handler,
        data: EventData,
        envelope: Envelope,
    ) -> str:
        failures = 0
        while True:
            try:
                applied = await self._applier.apply(envelope, data)
                return "applied" if applied else "duplicate"
            except InvalidEvent as exc:
                await self._dead_letter(record, f"rejected by handler: {exc}")
                return "dead_lettered"
            except Exception as exc:
                failures += 1
                # A database that is down is waited for; a handler that keeps failing on the
                # same event is a poison message and must not block its partition forever.
                if failures >= self._max_failures and not isinstance(exc, OperationalError):
                    await self._dead_letter(record, f"handler failed {failures} times: {exc!r}")
                    return "dead_lettered"
                delay = min(self._retry_delay * 2 ** (failures - 1), self._max_retry_delay)
                log.warning(
                    "handling %s %s failed (%s); retrying in %.1fs",
                    envelope.type,
                    envelope.id,
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], reason: str) -> None:
        # The reason's detail (in the DLQ headers) may quote the event; the log names its kind.
        log.error(
            "dead-lettering %s[%d]@%d: %s",
            record.topic,
            record.partition,
            record.offset,
            reason.partition(":")[0],
        )
        own = ("x-crosslead-error", "x-crosslead-source", "x-crosslead-consumer")
        headers = [
            # The original headers travel along, for the operator and for a redrive.
            *((k, v) for k, v in record.headers or () if k not in own),
            ("x-crosslead-error", reason[:1000].encode()),
            ("x-crosslead-source", f"{record.topic}/{record.partition}/{record.offset}".encode()),
            ("x-crosslead-consumer", self._group_id.encode()),
        ]
        await self._producer.send_and_wait(
            dlq_topic(record.topic), value=record.value, key=record.key, headers=headers
        )


async def _traced(envelope: Envelope, run: Callable[[], Awaitable[None]]) -> None:
    with traced(envelope):
        await run()
