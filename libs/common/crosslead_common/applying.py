"""Applying events to a service's database exactly once per consumer group.

Each event's id is recorded in ``processed_events`` in the transaction of its handler's
effects (and of the outbox rows the handler writes), so a redelivered event changes nothing.
:meth:`EventApplier.apply_batch` applies several events of one partition in one transaction:
all of them or, if anything fails, none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import Database, utcnow
from crosslead_common.events import Envelope, EventData

__all__ = ["EventApplier", "Handler", "Handlers", "InvalidEvent"]

E = TypeVar("E", bound=EventData)
Handler = Callable[[AsyncSession, Any, Envelope], Awaitable[None]]


class InvalidEvent(Exception):
    """Raised by a handler for an event that can never be applied (it goes to the DLQ)."""


class Handlers:
    """Maps event types to the one service function that handles each (faststream-style)."""

    def __init__(self) -> None:
        self._by_type: dict[str, Handler] = {}

    def on(
        self, event: type[E]
    ) -> Callable[[Callable[[AsyncSession, E, Envelope], Awaitable[None]]], Handler]:
        def register(fn: Callable[[AsyncSession, E, Envelope], Awaitable[None]]) -> Handler:
            self._by_type[event.event_type] = fn
            return fn

        return register

    def get(self, event_type: str) -> Handler | None:
        return self._by_type.get(event_type)

    def types(self) -> list[str]:
        """The event types handled, in registration order."""
        return list(self._by_type)


#: Runs around each handler call of a batch (the event's trace and log fields).
Around = Callable[[Envelope, Callable[[], Awaitable[None]]], Awaitable[None]]


async def _call(_: Envelope, run: Callable[[], Awaitable[None]]) -> None:
    await run()


class EventApplier:
    """Applies events to a service's database exactly once per consumer group: the event id
    is recorded in ``processed`` in the transaction of the handler's effects."""

    def __init__(
        self, *, db: Database, processed: Table, group_id: str, handlers: Handlers
    ) -> None:
        self._db = db
        self._processed = processed
        self._group_id = group_id
        self._handlers = handlers

    async def apply(self, envelope: Envelope, data: EventData | None = None) -> bool:
        """Apply ``envelope`` (decoded as ``data``) unless this group has applied it already;
        returns whether it was applied now. An event type without a handler is ignored.
        ``InvalidEvent`` and any other error of the handler propagate, with nothing changed."""
        handler = self._handlers.get(envelope.type)
        if handler is None:
            return False  # an event this service does not care about
        data = envelope.payload() if data is None else data
        try:
            async with self._db.transaction() as session:
                if await self._seen(session, [envelope.id]):
                    return False
                await self._record(session, [envelope.id])
                await handler(session, data, envelope)
            return True
        except IntegrityError:
            # A concurrent delivery of the same event won the race; its effects stand.
            async with self._db.sessionmaker() as session:
                if await self._seen(session, [envelope.id]):
                    return False
            raise

    async def apply_batch(
        self, events: Sequence[tuple[Envelope, EventData]], around: Around = _call
    ) -> list[bool]:
        """Apply ``events`` (of one partition, in order) in one transaction, skipping those
        this group applied already; returns whether each was applied now. If any handler
        raises, the error propagates and nothing of the batch is changed, so the caller can
        apply the events one by one to find the one at fault."""
        handled = [(self._handlers.get(e.type), e, d) for e, d in events]
        todo: dict[str, tuple[Handler, Envelope, EventData]] = {}
        if not any(handler for handler, _, _ in handled):
            return [False] * len(events)  # none this service cares about
        async with self._db.transaction() as session:
            seen = await self._seen(session, [e.id for handler, e, _ in handled if handler])
            for handler, envelope, data in handled:
                if handler is not None and envelope.id not in seen and envelope.id not in todo:
                    todo[envelope.id] = (handler, envelope, data)
            if todo:
                await self._record(session, list(todo))
            for handler, envelope, data in todo.values():

                async def run(h: Handler = handler, e: Envelope = envelope, d: Any = data) -> None:
                    await h(session, d, e)

                await around(envelope, run)
                # Each handler sees the database, not objects another handler left loaded.
                await session.flush()
                session.expunge_all()
        applied, first = [], set(todo)
        for envelope, _ in events:
            applied.append(envelope.id in first)
            first.discard(envelope.id)
        return applied

    async def _seen(self, session: AsyncSession, event_ids: list[str]) -> set[str]:
        p = self._processed
        rows = await session.scalars(
            select(p.c.event_id).where(p.c.consumer == self._group_id, p.c.event_id.in_(event_ids))
        )
        return set(rows)

    async def _record(self, session: AsyncSession, event_ids: list[str]) -> None:
        now = utcnow()
        await session.execute(
            self._processed.insert(),
            [{"consumer": self._group_id, "event_id": i, "processed_at": now} for i in event_ids],
        )
