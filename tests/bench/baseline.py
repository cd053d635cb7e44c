"""The baseline of ``make bench``'s throughput figures: a minimal FastAPI endpoint that
validates a lead's body with pydantic and INSERTs it in one transaction, on the same kind of
database as the stack it is compared with (issue 10). Run as its own process:
``python -m tests.bench.baseline DATABASE_URL PORT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Column, MetaData, String, Table, Text, event
from sqlalchemy.ext.asyncio import create_async_engine


class Customer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=3, max_length=40)


class Consent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    given_at: datetime
    text: str = Field(min_length=1, max_length=2000)


class Warmth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    notes: str = Field(max_length=4000)
    score: int = Field(ge=1, le=5)


class Manager(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)


class LeadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    need: str = Field(min_length=1, max_length=100)
    region: str = Field(min_length=1, max_length=100)
    customer: Customer
    consent: Consent
    warmth: Warmth
    manager: Manager


metadata = MetaData()
leads = Table(
    "baseline_leads",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("body", Text, nullable=False),
)


def create_app(url: str) -> FastAPI:
    sqlite = url.startswith("sqlite")
    engine = create_async_engine(url, connect_args={"timeout": 30} if sqlite else {})
    if sqlite:
        # The durability settings the services use: WAL, synchronous=NORMAL.
        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    # SQLite has one writer: writers queue in the process rather than in SQLite's busy loop.
    write_lock = asyncio.Lock() if sqlite else contextlib.nullcontext()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/leads", status_code=202)
    async def submit(body: LeadIn) -> dict[str, str]:
        lead_id = str(uuid.uuid4())
        async with write_lock, engine.begin() as conn:
            await conn.execute(leads.insert().values(id=lead_id, body=body.model_dump_json()))
        return {"id": lead_id}

    return app


def main() -> None:
    url, port = sys.argv[1], int(sys.argv[2])
    uvicorn.run(create_app(url), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
