"""Async SQLAlchemy helpers shared by the services.

One :class:`Database` per process: the engine, the session factory, and the wake-up signals that
let background workers (the outbox relay, the webhook dispatcher) react right after a commit
instead of waiting for their next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, String, event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Database",
    "DecimalString",
    "UTCDateTime",
    "after_commit",
    "request_wakeup",
    "utcnow",
]

_WAKEUPS_KEY = "crosslead.wakeups"
_AFTER_COMMIT_KEY = "crosslead.after_commit"
_READ_ONLY = "crosslead_read_only"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops the offset on the way in)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class DecimalString(TypeDecorator[Decimal]):
    """An exact decimal (rates, shares) stored as text, so no backend turns it into a float."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


def request_wakeup(session: AsyncSession, name: str) -> None:
    """Ask that the worker listening on ``name`` be woken once this session's transaction
    commits (never before: it must see the committed rows)."""
    session.info.setdefault(_WAKEUPS_KEY, set()).add(name)


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call ``callback`` once this session's transaction (from :meth:`Database.transaction`)
    has committed; never if it rolls back."""
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append(callback)


class Database:
    """The process-wide engine and session factory of one service."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine: AsyncEngine = _create_engine(url, echo=echo)
        #: Sessions for reading. Writes go through :meth:`transaction`.
        self.sessionmaker = async_sessionmaker(
            self.engine.execution_options(**{_READ_ONLY: True}), expire_on_commit=False
        )
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time. Writers of this process queue here, in FIFO order,
        # instead of spinning in SQLite's busy handler (which backs off in sleeps of up to
        # 100 ms); other processes still wait on busy_timeout.
        self._write_lock = asyncio.Lock() if self.is_sqlite else contextlib.nullcontext()
        self._wakeups: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def wakeup(self, name: str) -> asyncio.Event:
        """The event set after each commit that called :func:`request_wakeup` with ``name``."""
        return self._wakeups[name]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed when the block ends, rolled back if it
        raises; afterwards the workers it asked for are woken."""
        async with self._write_lock, self._writer() as session:
            async with session.begin():
                yield session
            for name in session.info.pop(_WAKEUPS_KEY, ()):
                self._wakeups[name].set()
            for callback in session.info.pop(_AFTER_COMMIT_KEY, ()):
                callback()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _create_engine(url: str, *, echo: bool) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(
            url, echo=echo, pool_pre_ping=True, pool_size=10, hide_parameters=True
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # hide_parameters: a failing statement's message never quotes a customer's data.
    engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30}, hide_parameters=True)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    # pysqlite's own transaction handling begins lazily and in DEFERRED mode, so two writers can
    # both hold a read lock and then deadlock on upgrade. Writers take the write lock up front
    # (BEGIN IMMEDIATE) and queue on busy_timeout instead; readers begin DEFERRED and, with
    # WAL, never wait for a writer.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
