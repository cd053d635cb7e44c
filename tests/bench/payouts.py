"""``python -m tests.bench.payouts [--database-url URL] [--conversions N]``: conversions posted
per second by the payouts consumer on PostgreSQL, against a baseline measured in the same run.

Each conversion goes through the real consumer path (``EventConsumer.process``: decode, one
transaction, processed-event record, commission math, a balanced posting, account balances,
outbox row). The baseline sends the same number of events through the same path to a handler
that does nothing, so the ratio is the cost of the ledger itself. Both are measured with one
partition (events one after another) and with several partitions at once (as consumer-group
members would). The database is a throwaway one on the server of ``--database-url`` (default:
``TEST_POSTGRES_URL``), dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from aiokafka.structs import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import Database
from crosslead_common.events import ConversionReported, Envelope
from crosslead_common.kafka import EventConsumer, Handlers, create_producer
from crosslead_common.migrations import upgrade
from crosslead_common.terms import PercentCommission
from crosslead_local.localstack import LocalBroker, free_port
from crosslead_payouts.cli import MIGRATIONS
from crosslead_payouts.consumers import GROUP_ID, TOPICS, handlers
from crosslead_payouts.models import Base, processed_events
from crosslead_payouts.reconcile import reconcile
from tests.support.kafka import consumer_record

PARTNERS = 20
AGREEMENTS = 50


def conversions(count: int, tag: str) -> list[ConsumerRecord[bytes, bytes]]:
    """``count`` won deals on distinct leads, spread over the partner pairs and agreements."""
    records = []
    for n in range(count):
        source, target = n % PARTNERS, (n + 1 + n // PARTNERS) % PARTNERS
        event = ConversionReported(
            conversion_id=f"cnv_{tag}_{n}",
            lead_id=f"lead_{tag}_{n}",
            external_id=f"deal-{n}",
            status="won",
            amount=Decimal("1234.56"),
            currency="EUR",
            source_partner_id=f"ptr_{source}",
            target_partner_id=f"ptr_{target if target != source else (target + 1) % PARTNERS}",
            manager_id=f"m-{n % 7}",
            agreement_id=f"agr_{n % AGREEMENTS}",
            commission=PercentCommission(rate=Decimal("0.1")),
            manager_share=Decimal("0.2"),
        )
        records.append(consumer_record(Envelope.wrap(event, source="bench"), offset=n))
    return records


async def _ignore(session: AsyncSession, event: ConversionReported, envelope: Envelope) -> None:
    """The baseline's handler: the consumer path without the ledger."""


no_op = Handlers()
no_op.on(ConversionReported)(_ignore)


async def rate(
    consumer: EventConsumer, records: Sequence[ConsumerRecord[bytes, bytes]], partitions: int
) -> float:
    """Events per second, with ``partitions`` workers each applying its share in order."""

    async def partition(share: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        for item in share:
            await consumer.process(item)

    started = time.perf_counter()
    await asyncio.gather(*(partition(records[p::partitions]) for p in range(partitions)))
    return len(records) / (time.perf_counter() - started)


async def bench(database_url: str, broker: LocalBroker, count: int, partitions: int) -> None:
    await upgrade(database_url, MIGRATIONS, Base.metadata)
    db = Database(database_url)
    producer = create_producer(broker.bootstrap_servers, client_id="bench")
    await producer.start()
    try:

        def consumer(group: str, with_handlers: Handlers) -> EventConsumer:
            return EventConsumer(
                db=db,
                processed=processed_events,
                producer=producer,
                bootstrap_servers=broker.bootstrap_servers,
                group_id=group,
                topics=TOPICS,
                handlers=with_handlers,
            )

        ledger, baseline = consumer(GROUP_ID, handlers), consumer("bench-baseline", no_op)
        await rate(ledger, conversions(200, "warmup"), 1)  # connections and caches warm
        results = {}
        for workers in (1, partitions):
            results[workers] = (
                await rate(baseline, conversions(count, f"base{workers}"), workers),
                await rate(ledger, conversions(count, f"post{workers}"), workers),
            )
        async with db.sessionmaker() as session:
            discrepancies = await reconcile(session)
    finally:
        await producer.stop()
        await db.dispose()

    print(f"\npayouts consumer on PostgreSQL, {count} won conversions per measurement:")
    for workers, (base, posted) in results.items():
        print(
            f"  {workers} partition(s): {posted:.0f} conversions posted/s; baseline (same "
            f"consumer path, no-op handler) {base:.0f} events/s → ratio {posted / base:.2f}"
        )
    print(f"  reconcile afterwards: {len(discrepancies)} discrepancies")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.payouts")
    parser.add_argument("--database-url", default=os.environ.get("TEST_POSTGRES_URL"))
    parser.add_argument("--conversions", type=int, default=2000)
    parser.add_argument("--partitions", type=int, default=6)
    args = parser.parse_args()
    if not args.database_url:  # `make bench` on a machine without PostgreSQL
        print("\npayouts bench skipped: it needs PostgreSQL (TEST_POSTGRES_URL or --database-url)")
        return
    if not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a PostgreSQL URL")
    # The test suite's throwaway-database helper works on the TEST_POSTGRES_URL server.
    os.environ["TEST_POSTGRES_URL"] = args.database_url
    from tests.support.databases import postgres_database

    async def run() -> None:
        async with postgres_database() as url:
            await bench(url, broker, args.conversions, args.partitions)

    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalBroker(port=free_port(), log_file=Path(tmp) / "broker.log") as broker,
    ):
        asyncio.run(run())


if __name__ == "__main__":
    main()
