"""Payouts' consumer on the real broker: an event its handler can never apply is parked in
the dead-letter topic with the reason, and changes nothing."""

from __future__ import annotations

import pytest

from crosslead_common.events import Envelope, Topic, dlq_topic
from crosslead_local.localstack import LocalBroker
from tests.support.kafka import publish, read_records
from tests.support.payouts import KEYS, SHOP, conversion, partner, statement_when
from tests.support.services import served

pytestmark = [pytest.mark.schema("payouts"), pytest.mark.sqlite_only]


async def test_a_refund_on_a_lead_with_nothing_won_is_dead_lettered(
    broker: LocalBroker, database_url: str
) -> None:
    refund = Envelope.wrap(conversion("lead_9", "refunded", "10.00"), source="test")
    async with served("payouts", database_url, broker.bootstrap_servers) as payouts:
        await publish(broker, partner(SHOP), refund)

        (dead,) = await read_records(broker, dlq_topic(Topic.CONVERSIONS), 1)
        assert dead.value == refund.to_bytes()
        reason = dict(dead.headers)["x-crosslead-error"].decode()
        assert "nothing was won" in reason
        shop = await statement_when(payouts.client, KEYS[SHOP], [])
        assert shop["lines"] == []
