"""Retention on the real databases: what each service keeps only for a while (published outbox
rows, processed-event ids, the router's ended webhook deliveries and their attempts) is
deleted once that while is over, in bounded batches; what is recent, unpublished, pending or
still recoverable stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crosslead_common.applying import EventApplier
from crosslead_intake import models as intake_models
from crosslead_payouts import models as payouts_models
from crosslead_router.consumers import handlers
from crosslead_router.models import Delivery, DeliveryAttempt, processed_events
from crosslead_router.routing import RoutingPolicy
from tests.support.router import partner
from tests.support.services import Service, in_process

pytestmark = pytest.mark.schema("router")

NOW = datetime.now(UTC)
PROCESSED = {
    "intake": intake_models.processed_events,
    "router": processed_events,
    "payouts": payouts_models.processed_events,
}


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


async def add_outbox(service: Service, event_id: str, published: datetime | None) -> None:
    table = service.runtime.outbox.table
    async with service.db.transaction() as session:
        await session.execute(
            table.insert().values(
                event_id=event_id,
                topic="crosslead.leads",
                key="k",
                payload="{}",
                created_at=published or NOW,
                published_at=published,
            )
        )


async def outbox_ids(service: Service) -> set[str]:
    table = service.runtime.outbox.table
    async with service.db.sessionmaker() as session:
        return set(await session.scalars(select(table.c.event_id)))


async def add_processed(service: Service, event_id: str, at: datetime) -> None:
    table = PROCESSED[service.name]
    async with service.db.transaction() as session:
        await session.execute(
            table.insert().values(consumer="test-group", event_id=event_id, processed_at=at)
        )


async def processed_ids(service: Service) -> set[str]:
    table = PROCESSED[service.name]
    async with service.db.sessionmaker() as session:
        return set(await session.scalars(select(table.c.event_id)))


@pytest.mark.parametrize("name", ["intake", "router", "payouts"])
async def test_old_outbox_rows_and_processed_ids_go_and_recent_or_unpublished_ones_stay(
    name: str, database_url: str
) -> None:
    # Batches of 2: five old rows take three transactions, and all of them go.
    async with in_process(name, database_url, retention_batch_size=2) as service:
        for n in range(5):
            await add_outbox(service, f"old-{n}", days_ago(8))
            await add_processed(service, f"old-{n}", days_ago(31))
        await add_outbox(service, "recent", days_ago(6))
        await add_outbox(service, "unpublished", None)
        await add_processed(service, "recent", days_ago(29))

        pruned = await service.runtime.retention.run_once()

        assert pruned["published outbox rows"] == 5
        assert pruned["processed event ids"] == 5
        assert await outbox_ids(service) == {"recent", "unpublished"}
        assert await processed_ids(service) == {"recent"}


async def test_the_periods_are_settings(database_url: str) -> None:
    async with in_process(
        "router", database_url, outbox_retention_days=1, processed_events_retention_days=9
    ) as router:
        await add_outbox(router, "two-days", days_ago(2))
        await add_processed(router, "ten-days", days_ago(10))
        await add_processed(router, "eight-days", days_ago(8))
        await router.runtime.retention.run_once()
        assert await outbox_ids(router) == set()
        assert await processed_ids(router) == {"eight-days"}


async def test_an_applied_events_id_is_kept_for_the_whole_period_and_a_redelivery_is_dropped(
    database_url: str,
) -> None:
    async with in_process("router", database_url) as router:
        [envelope] = await router.deliver(partner("ptr_shop", "north").registered())
        await router.runtime.retention.run_once(now=NOW + timedelta(days=29))
        assert envelope.id in await processed_ids(router)
        applier = EventApplier(
            db=router.db,
            processed=processed_events,
            group_id="crosslead-router",
            handlers=handlers(RoutingPolicy()),
        )
        assert not await applier.apply(envelope)  # redelivered on day 29: a duplicate
        await router.runtime.retention.run_once(now=NOW + timedelta(days=31))
        assert envelope.id not in await processed_ids(router)


def delivery(
    delivery_id: str, status: str, *, created: datetime, ended: datetime | None
) -> Delivery:
    return Delivery(
        id=delivery_id,
        lead_id=None,
        partner_id="ptr_fitter",
        endpoint_id=None,
        webhook_id=f"msg_{delivery_id}",
        kind="test",
        body='{"customer": "in clear"}',
        status=status,
        attempt_count=1,
        next_attempt_at=created if status == "pending" else None,
        created_at=created,
        delivered_at=ended if status == "delivered" else None,
        failed_at=ended if status == "failed" else None,
    )


async def test_ended_deliveries_go_with_their_attempts_and_recoverable_or_pending_ones_stay(
    database_url: str,
) -> None:
    async with in_process("router", database_url, delivery_retention_days=5) as router:
        rows = [
            delivery("delivered-old", "delivered", created=days_ago(7), ended=days_ago(6)),
            delivery("delivered-new", "delivered", created=days_ago(7), ended=days_ago(4)),
            delivery("cancelled-old", "cancelled", created=days_ago(6), ended=None),
            # Failed 10 days ago: past the setting, but recoverable for 14 days.
            delivery("failed-recoverable", "failed", created=days_ago(11), ended=days_ago(10)),
            delivery("failed-old", "failed", created=days_ago(16), ended=days_ago(15)),
            delivery("pending-old", "pending", created=days_ago(60), ended=None),
        ]
        async with router.db.transaction() as session:
            session.add_all(rows)
            await session.flush()
            session.add_all(
                DeliveryAttempt(
                    delivery_id=row.id,
                    at=row.created_at,
                    url=None,
                    status_code=500,
                    error="down",
                    duration_ms=3,
                )
                for row in rows
            )

        pruned = await router.runtime.retention.run_once()

        assert pruned["ended webhook deliveries"] == 3
        async with router.db.sessionmaker() as session:
            left = set(await session.scalars(select(Delivery.id)))
            attempted = set(await session.scalars(select(DeliveryAttempt.delivery_id)))
        assert left == {"delivered-new", "failed-recoverable", "pending-old"}
        assert attempted == left
