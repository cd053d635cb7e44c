"""``Idempotency-Key``: the same key with the same body returns the first response; the same
key with a different body is a 422. The stored response is written in the same transaction as
the effects, so a retry after a crash either finds both or neither."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import Database, utcnow
from crosslead_common.domain import InvalidField
from crosslead_intake import repository
from crosslead_intake.models import IdempotencyKey

Action = Callable[[AsyncSession], Awaitable[dict[str, Any]]]
HEADER = "Idempotency-Key"


def _fingerprint(body: BaseModel) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(stored: IdempotencyKey, fingerprint: str) -> JSONResponse:
    if stored.request_hash != fingerprint:
        raise InvalidField(HEADER, "this key was already used with a different request body")
    return JSONResponse(stored.response, status_code=stored.status_code)


async def run_once(
    db: Database,
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
    if not 1 <= len(key) <= 200:
        raise InvalidField(HEADER, "must be 1 to 200 characters")
    fingerprint = _fingerprint(body)
    try:
        async with db.transaction() as session:
            stored = await repository.get_idempotency_key(session, partner_id, endpoint, key)
            if stored is not None:
                return _replay(stored, fingerprint)
            response = await action(session)
            session.add(
                IdempotencyKey(
                    partner_id=partner_id,
                    endpoint=endpoint,
                    key=key,
                    request_hash=fingerprint,
                    status_code=status_code,
                    response=response,
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        # A concurrent request with the same key committed first: answer as it did.
        async with db.sessionmaker() as session:
            stored = await repository.get_idempotency_key(session, partner_id, endpoint, key)
        if stored is None:
            raise
        return _replay(stored, fingerprint)
    return JSONResponse(response, status_code=status_code)
