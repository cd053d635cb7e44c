"""Dead letters on the real broker: listed with their reason and original headers, and
redriven once their cause is fixed, which applies them exactly once; the operator does the same
over HTTP and with ``crosslead-<service> dlq``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import Column, MetaData, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import Database
from crosslead_common.dlq import DeadLetters, NoSuchDeadLetter
from crosslead_common.events import Envelope, LeadAccepted, Topic
from crosslead_common.kafka import (
    EventConsumer,
    Handlers,
    InvalidEvent,
    ensure_topics,
    processed_events_table,
)
from crosslead_local.localstack import LocalBroker
from tests.service.intake import Intake
from tests.support import ADMIN, ADMIN_TOKEN, CUSTOMER_DATA_KEY, CUSTOMER_HASH_KEY, eventually
from tests.support.services import served

metadata = MetaData()
processed = processed_events_table(metadata)
accepted = Table("accepted", metadata, Column("lead_id", String(64)))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield database
    await database.dispose()


async def test_a_redriven_dead_letter_is_applied_once_after_its_cause_is_fixed(
    broker: LocalBroker, db: Database, producer: AIOKafkaProducer
) -> None:
    await ensure_topics(broker.bootstrap_servers, partitions=2)
    partner_known = False  # the cause: the handler cannot apply the event yet
    handlers = Handlers()

    @handlers.on(LeadAccepted)
    async def lead_accepted(session: AsyncSession, event: LeadAccepted, _: Envelope) -> None:
        if not partner_known:
            raise InvalidEvent(f"unknown partner {event.partner_id}")
        await session.execute(accepted.insert().values(lead_id=event.lead_id))

    consumer = EventConsumer(
        db=db,
        processed=processed,
        producer=producer,
        bootstrap_servers=broker.bootstrap_servers,
        group_id="test-group",
        topics=[Topic.LEADS],
        handlers=handlers,
        service="test",
    )
    letters = DeadLetters(
        db=db, processed=processed, bootstrap_servers=broker.bootstrap_servers, consumers=[consumer]
    )
    envelope = Envelope.wrap(LeadAccepted(lead_id="lead_1", partner_id="ptr_9"), source="t")
    await producer.send_and_wait(
        Topic.LEADS, envelope.to_bytes(), key=b"lead_1", headers=[("x-origin", b"backfill-7")]
    )
    running = asyncio.create_task(consumer.run())
    try:
        [letter] = await eventually(letters.all, timeout=30)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert letter.reason == "rejected by handler: unknown partner ptr_9"
    assert letter.consumer == "test-group"
    assert letter.source.startswith(f"{Topic.LEADS}/")
    assert letter.headers == {"x-origin": "backfill-7"}
    assert (letter.event_id, letter.event_type, letter.status) == (
        envelope.id,
        "crosslead.lead.accepted.v1",
        "pending",
    )
    assert (await letters.show(letter.id)).body == envelope.to_bytes().decode()

    assert await letters.redrive(letter.id) == "dead_lettered"  # not fixed yet: parked again
    partner_known = True
    assert await letters.redrive(letter.id) == "applied"
    assert await letters.redrive(letter.id) == "duplicate"
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(accepted)) == 1
    statuses = [item.status for item in await letters.all()]
    assert statuses == ["applied", "applied"]  # the first and its re-parked copy
    with pytest.raises(NoSuchDeadLetter):
        await letters.show(f"{Topic.LEADS}.dlq:0:999")
    with pytest.raises(NoSuchDeadLetter):
        await letters.show("crosslead.secrets:0:0")


@pytest.fixture
async def intake(database_url: str, broker: LocalBroker) -> AsyncIterator[Intake]:
    """Intake served for real, with its consumer on ``broker``."""
    async with served("intake", database_url, broker.bootstrap_servers) as service:
        yield Intake(service)


async def test_the_operator_lists_shows_and_redrives_dead_letters_over_http_and_cli(
    intake: Intake,
    broker: LocalBroker,
    producer: AIOKafkaProducer,
    database_url: str,
    tmp_path: Path,
) -> None:
    await producer.send_and_wait(Topic.LEADS, b"not json", key=b"k", headers=[("x-a", b"1")])
    path = "/v1/intake/dead-letters"

    async def listed() -> list[dict[str, object]]:
        response = await intake.client.get(path, headers=ADMIN)
        assert response.status_code == 200
        return list(response.json()["items"])

    [letter] = await eventually(listed, timeout=30)
    assert letter["consumer"] == "crosslead-intake-timeline"
    assert str(letter["reason"]).startswith("not a CloudEvents envelope")
    assert letter["headers"] == {"x-a": "1"}
    assert letter["event_type"] is None
    shown = await intake.client.get(f"{path}/{letter['id']}", headers=ADMIN)
    assert shown.json()["body"] == "not json"
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    foreign = {"Authorization": f"Bearer {shop['api_key']}"}
    assert (await intake.client.get(path, headers=foreign)).status_code == 403
    assert (await intake.client.get(f"{path}/nope:0:0", headers=ADMIN)).status_code == 404
    redriven = await intake.client.post(f"{path}/{letter['id']}/redrive", headers=ADMIN)
    assert redriven.json() == {"id": letter["id"], "outcome": "dead_lettered"}
    await eventually(lambda: _count(listed, 2), timeout=30)

    env = {
        **os.environ,
        "CROSSLEAD_ADMIN_TOKEN": ADMIN_TOKEN,
        "CROSSLEAD_CUSTOMER_DATA_KEY": CUSTOMER_DATA_KEY,
        "CROSSLEAD_INTAKE_CUSTOMER_HASH_KEY": CUSTOMER_HASH_KEY,
        "CROSSLEAD_INTAKE_DATABASE_URL": database_url,
        "CROSSLEAD_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [str(Path(sys.executable).parent / "crosslead-intake"), "dlq", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{letter['id']}\tpending\tcrosslead-intake-timeline\t-\t")


async def _count(listed: object, n: int) -> bool:
    return len(await listed()) == n  # type: ignore[operator]
