"""The process of one service: its HTTP app and the background workers beside it.

``Runtime`` owns the database, the Kafka producer, the outbox relay and any consumers or
workers a service adds; ``create_service_app`` wires it into a FastAPI app whose lifespan
starts and stops them, with problem+json errors, a body-size limit and health checks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated, Any, Literal

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.api.contract import BEARER, answers, complete_document, operation_id
from crosslead_common.api.problems import BodySizeLimit, RejectNul, install_problem_handlers
from crosslead_common.api.ratelimit import Limits, RateLimit
from crosslead_common.asyncapi import asyncapi_document
from crosslead_common.auth import KeyCheck, PartnerLookup, Principal, authenticate
from crosslead_common.db import Database
from crosslead_common.dlq import DeadLetters
from crosslead_common.dlq_api import dead_letter_routes
from crosslead_common.events import EVENT_TYPES, Envelope
from crosslead_common.kafka import (
    EventApplier,
    EventConsumer,
    Handlers,
    KafkaAccess,
    create_producer,
    ensure_topics,
)
from crosslead_common.observability.http import Observe
from crosslead_common.observability.metrics import METRICS_CONTENT_TYPE, exposition
from crosslead_common.observability.sampler import OutboxSampler
from crosslead_common.observability.tracing import setup_tracing
from crosslead_common.outbox import Outbox, OutboxRelay
from crosslead_common.republish import republish_if_broker_forgot
from crosslead_common.retention import RetentionWorker, outbox_rule, processed_events_rule
from crosslead_common.settings import ServiceSettings

__all__ = ["Runtime", "create_service_app", "current_principal", "get_runtime"]

log = logging.getLogger(__name__)

Worker = Callable[[], Awaitable[None]]


class Runtime:
    """Database, producer, outbox relay and background workers of one service process."""

    def __init__(
        self,
        *,
        name: str,
        settings: ServiceSettings,
        outbox: Outbox,
        processed: Table,
        partner_lookup: PartnerLookup,
        key_check: KeyCheck | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.db = Database(settings.database_url)
        self.outbox = outbox
        self.partner_lookup = partner_lookup
        #: Whether a partner's key is still usable (not revoked, its partner not disabled).
        self.key_check = key_check
        self._processed = processed
        self._consumers: list[tuple[str, tuple[str, ...], Handlers]] = []
        self._workers: list[tuple[str, Worker]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._producer: AIOKafkaProducer | None = None
        self._event_consumers: list[EventConsumer] = []
        #: Prunes the outbox and the processed-event ids; a service adds its own rules.
        self.retention = RetentionWorker(
            self.db,
            interval=settings.retention_interval_seconds,
            batch_size=settings.retention_batch_size,
        )
        self.retention.add(
            "published outbox rows",
            outbox_rule(outbox, timedelta(days=settings.outbox_retention_days)),
        )
        self.retention.add(
            "processed event ids",
            processed_events_rule(
                processed, timedelta(days=settings.processed_events_retention_days)
            ),
        )
        self.add_worker("retention", self.retention.run)
        setup_tracing(name)

    @property
    def kafka(self) -> KafkaAccess:
        """How every Kafka client of this service connects (the SASL/TLS settings)."""
        return self.settings.kafka_access()

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._producer

    @property
    def workers(self) -> tuple[tuple[str, Worker], ...]:
        """The workers added with :meth:`add_worker` (not the relay or the consumers), so
        that in-process tests can run them without a broker."""
        return tuple(self._workers)

    def add_worker(self, name: str, worker: Worker) -> None:
        """Run ``worker`` beside the HTTP API, restarted if it crashes."""
        self._workers.append((name, worker))

    def add_consumer(self, *, group_id: str, topics: Iterable[str], handlers: Handlers) -> None:
        """Consume ``topics`` in ``group_id`` with the idempotent consumer."""
        self._consumers.append((group_id, tuple(topics), handlers))

    async def apply(self, envelope: Envelope) -> None:
        """Apply ``envelope`` as each of this service's consumers of its topic would on
        receiving it (once per event id), without a broker: for in-process tests and tools."""
        topic = EVENT_TYPES[envelope.type].topic
        for group_id, topics, handlers in self._consumers:
            if topic in topics:
                applier = EventApplier(
                    db=self.db, processed=self._processed, group_id=group_id, handlers=handlers
                )
                await applier.apply(envelope)

    def consumed_event_types(self) -> dict[str, list[str]]:
        """The event types each consumer group of this service applies."""
        return {group: handlers.types() for group, _, handlers in self._consumers}

    async def start(self) -> None:
        await ensure_topics(
            self.kafka,
            partitions=self.settings.kafka_topic_partitions,
        )
        # aiokafka clients bind to the running loop, so they are made here, not in __init__.
        self._producer = producer = create_producer(self.kafka, client_id=self.name)
        await producer.start()
        await republish_if_broker_forgot(
            self.db,
            self.outbox,
            bootstrap_servers=self.kafka,
            service=self.name,
        )
        relay = OutboxRelay(
            self.db,
            self.outbox,
            producer,
            poll_interval=self.settings.outbox_poll_interval_seconds,
            service=self.name,
        )
        sampler = OutboxSampler(self.db, self.outbox, service=self.name)
        workers = [("outbox-relay", relay.run), ("outbox-sampler", sampler.run), *self._workers]
        self._event_consumers = self._build_consumers(producer)
        for consumer in self._event_consumers:
            workers.append((f"consumer:{consumer.group_id}", consumer.run))
        self._tasks = [
            asyncio.create_task(self._supervise(name, worker), name=name)
            for name, worker in workers
        ]

    def _build_consumers(self, producer: AIOKafkaProducer) -> list[EventConsumer]:
        return [
            EventConsumer(
                db=self.db,
                processed=self._processed,
                producer=producer,
                bootstrap_servers=self.kafka,
                group_id=group_id,
                topics=topics,
                handlers=handlers,
                session_timeout_seconds=self.settings.kafka_session_timeout_seconds,
                fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms,
                service=self.name,
            )
            for group_id, topics, handlers in self._consumers
        ]

    def dead_letters(self) -> DeadLetters:
        """The dead letters of this service's consumer groups (the runtime must be started,
        or be inside :meth:`tasks`)."""
        return DeadLetters(
            db=self.db,
            processed=self._processed,
            bootstrap_servers=self.kafka,
            consumers=self._event_consumers,
        )

    @asynccontextmanager
    async def tasks(self) -> AsyncIterator[Runtime]:
        """The database and a producer without the workers, for maintenance commands."""
        self._producer = producer = create_producer(self.kafka, client_id=f"{self.name}-task")
        await producer.start()
        self._event_consumers = self._build_consumers(producer)
        try:
            yield self
        finally:
            await producer.stop()
            await self.db.dispose()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._producer is not None:
            await self._producer.stop()
        await self.db.dispose()

    async def check_ready(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(self.db.ping(), 2)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        try:
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), 2)
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unreachable: {type(exc).__name__}"
        return checks

    async def _supervise(self, name: str, worker: Worker) -> None:
        # A worker that crashes (broker restarting, say) is restarted, never silently lost.
        while True:
            try:
                await worker()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s %s crashed; restarting in 1s", self.name, name)
                await asyncio.sleep(1)


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    #: ``database`` and ``broker``: ``ok``, or ``unreachable: <error>``.
    checks: dict[str, str]


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@answers(401)
async def current_principal(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
) -> Principal:
    """FastAPI dependency: the authenticated caller (401 otherwise). It declares the bearer
    security scheme, so every operation that authenticates shows it in OpenAPI."""
    runtime = get_runtime(request)
    async with runtime.db.sessionmaker() as session:
        return await authenticate(
            request,
            session,
            runtime.settings.admin_token.get_secret_value(),
            runtime.partner_lookup,
            key=runtime.settings.api_key_signing_key(),
            check=runtime.key_check,
        )


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: a session for reads; writes go through ``db.transaction()``."""
    async with get_runtime(request).db.sessionmaker() as session:
        yield session


def create_service_app(
    *,
    title: str,
    description: str,
    runtime: Runtime,
    routers: Iterable[APIRouter],
    version: str = "0.1.0",
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.runtime = runtime

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete_document(FastAPI.openapi(app), app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(RejectNul)
    settings = runtime.settings
    limits = Limits(
        settings.rate_limit_per_second, settings.rate_limit_burst, settings.failed_auth_per_minute
    )
    app.add_middleware(RateLimit, limits=limits)
    app.add_middleware(Observe, service=runtime.name, telemetry=runtime.settings.telemetry)

    service = runtime.name

    @app.get("/healthz", tags=["health"], name=f"{service}_healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        """Answers 200 while the process is up."""
        return {"status": "ok"}

    @app.get(
        "/metrics",
        tags=["health"],
        name=f"{service}_metrics",
        summary="Prometheus metrics",
        response_class=Response,
    )
    async def metrics() -> Response:
        """Prometheus metrics of this process (names and labels are listed in the README)."""
        return Response(exposition(), media_type=METRICS_CONTENT_TYPE)

    @app.get("/asyncapi.json", tags=["events"], name=f"{service}_asyncapi", summary="Events")
    async def asyncapi() -> dict[str, Any]:
        """The events this service publishes and consumes (AsyncAPI 3.0)."""
        return asyncapi_document(runtime.name, runtime.consumed_event_types(), version=version)

    @app.get(
        "/readyz",
        tags=["health"],
        name=f"{service}_readyz",
        summary="Readiness",
        response_model=Readiness,
        responses={503: {"description": "Not ready", "model": Readiness}},
    )
    async def readyz() -> JSONResponse:
        """200 when the database and the broker answer, 503 (naming which does not) otherwise;
        the `x-crosslead-service` header names the service."""
        checks = await runtime.check_ready()
        ok = all(v == "ok" for v in checks.values())
        body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks}
        # Names the service, so whoever waits for it knows it reached this one on the port.
        headers = {"x-crosslead-service": runtime.name}
        return JSONResponse(body, status_code=200 if ok else 503, headers=headers)

    for router in routers:
        app.include_router(router)
    app.include_router(dead_letter_routes(runtime.name, current_principal))
    return app
