"""SQL that differs by dialect, written once: the upsert and transaction-scoped advisory
locks, whose keys are hashed one way everywhere."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["advisory_xact_lock", "lock_key", "upsert"]


def upsert(session: AsyncSession, target: Any) -> Any:
    """An ``INSERT`` into ``target`` (a table or mapped class) that supports
    ``on_conflict_do_update`` and ``on_conflict_do_nothing`` on the session's database."""
    dialect = postgresql if _is_postgresql(session) else sqlite
    return dialect.insert(target)


def lock_key(*parts: str) -> int:
    """The signed 64-bit advisory-lock key of ``parts`` (SHA-256 of ``a/b/…``)."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def advisory_xact_lock(session: AsyncSession, *parts: str, shared: bool = False) -> None:
    """Hold the lock named by ``parts`` until the transaction ends; ``shared`` holders only
    exclude an exclusive one. PostgreSQL: an advisory lock; SQLite: nothing to do, every
    write transaction already holds the database's one write lock (``BEGIN IMMEDIATE``)."""
    if _is_postgresql(session):
        lock = func.pg_advisory_xact_lock_shared if shared else func.pg_advisory_xact_lock
        await session.execute(select(lock(lock_key(*parts))))


def _is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"
