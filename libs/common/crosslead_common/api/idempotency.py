"""``Idempotency-Key``: the same key with the same body returns the first response; the same
key with a different body is a 422. The stored response is written in the same transaction as
the effects, so a retry after a crash either finds both or neither."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import Database, UTCDateTime, utcnow
from crosslead_common.domain import InvalidField

__all__ = [
    "HEADER",
    "IdempotencyKey",
    "check_key",
    "check_replay",
    "fingerprint",
    "idempotency_keys_table",
    "run_once",
]

HEADER = "Idempotency-Key"
#: The optional header, as a route parameter.
IdempotencyKey = Annotated[
    str | None,
    Header(alias=HEADER, description="The same key with the same body returns the first answer"),
]
Action = Callable[[AsyncSession], Awaitable[dict[str, Any]]]


def fingerprint(body: BaseModel) -> str:
    """The hash a key's first request body is remembered by: canonical JSON, so field order
    and whitespace do not matter."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> None:
    """A key is 1 to 200 characters."""
    if not 1 <= len(key) <= 200:
        raise InvalidField(HEADER, "must be 1 to 200 characters")


def check_replay(stored_hash: str, body_hash: str) -> None:
    """A key reused with another body is the client's mistake: 422 on the header."""
    if stored_hash != body_hash:
        raise InvalidField(HEADER, "this key was already used with a different request body")


def idempotency_keys_table(metadata: MetaData) -> Table:
    """The first response to each ``(partner, endpoint, key)``, in the service's database."""
    return Table(
        "idempotency_keys",
        metadata,
        Column("partner_id", String(64), primary_key=True),
        Column("endpoint", String(100), primary_key=True),
        Column("key", String(200), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("response", JSON, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
    )


async def run_once(
    db: Database,
    table: Table,
    *,
    partner_id: str,
    endpoint: str,
    key: str | None,
    body: BaseModel,
    status_code: int,
    action: Action,
) -> JSONResponse:
    """Run ``action`` in one transaction, at most once per ``(partner, endpoint, key)``."""
    if key is None:
        async with db.transaction() as session:
            return JSONResponse(await action(session), status_code=status_code)
    check_key(key)
    body_hash = fingerprint(body)
    where = (table.c.partner_id == partner_id, table.c.endpoint == endpoint, table.c.key == key)
    try:
        async with db.transaction() as session:
            stored = (await session.execute(select(table).where(*where))).one_or_none()
            if stored is not None:
                return _replay(stored, body_hash)
            response = await action(session)
            await session.execute(
                insert(table).values(
                    partner_id=partner_id,
                    endpoint=endpoint,
                    key=key,
                    request_hash=body_hash,
                    status_code=status_code,
                    response=response,
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        # A concurrent request with the same key committed first: answer as it did.
        async with db.sessionmaker() as session:
            stored = (await session.execute(select(table).where(*where))).one_or_none()
        if stored is None:
            raise
        return _replay(stored, body_hash)
    return JSONResponse(response, status_code=status_code)


def _replay(stored: Any, body_hash: str) -> JSONResponse:
    check_replay(stored.request_hash, body_hash)
    return JSONResponse(stored.response, status_code=stored.status_code)
