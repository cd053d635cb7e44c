"""Restarts lose nothing, also on a broker that keeps events in memory only.

Each service keeps a marker in the broker: the committed offset of its own consumer group
``crosslead-<service>-outbox``. A broker that came back empty has lost that marker with
everything else, and then the service marks its whole retained outbox as unpublished, so the
relay publishes every event it ever published again, in the original order. Consumers apply
events idempotently (by event id), so what they had already applied changes nothing, and what
the broker lost reaches them. A durable broker keeps the marker, and nothing is republished.
"""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from crosslead_common.db import Database
from crosslead_common.events import Topic
from crosslead_common.kafka import KafkaAccess, client_config
from crosslead_common.outbox import Outbox

__all__ = ["republish_if_broker_forgot"]

log = logging.getLogger(__name__)

_MARKER = TopicPartition(Topic.PARTNERS, 0)


async def republish_if_broker_forgot(
    db: Database, outbox: Outbox, *, bootstrap_servers: str | KafkaAccess, service: str
) -> int:
    """Mark every published outbox row for publication again if the broker has no marker of
    this service; returns how many rows were marked. Sets the marker either way."""
    consumer = AIOKafkaConsumer(
        **client_config(bootstrap_servers),
        group_id=f"crosslead-{service}-outbox",
        client_id=f"crosslead-{service}-outbox",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign([_MARKER])
        marked = 0
        if await consumer.committed(_MARKER) is None:
            async with db.transaction() as session:
                marked = await outbox.mark_all_unpublished(session)
            if marked:
                log.warning(
                    "%s: the broker has none of this service's events; republishing %d",
                    service,
                    marked,
                )
        # Set (or refresh) only after the rows are marked: a crash in between republishes again.
        await consumer.commit({_MARKER: OffsetAndMetadata(0, "outbox republish marker")})
        return marked
    finally:
        await consumer.stop()
