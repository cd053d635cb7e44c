"""Two router replicas on one database and the real broker, sharing the leads topic's
partitions through their consumer group: a partner's capacity holds across both."""

from __future__ import annotations

import pytest

from crosslead_common.events import LeadDelivered, LeadRouted
from crosslead_local.localstack import LocalBroker
from tests.support.router import agreement, lead, of_type, offered_leads, partner, served_network

pytestmark = pytest.mark.schema("router")


SHOP = partner("shop", "north")


async def test_two_router_replicas_never_exceed_a_partners_capacity(
    broker: LocalBroker, database_url: str
) -> None:
    small = partner("small", "north", capacity_per_day=1)
    big = partner("big", "north")
    parties = [SHOP, small, big]
    deals = [
        agreement("agr-small", SHOP.id, small.id, priority=1),
        agreement("agr-big", SHOP.id, big.id),
    ]
    async with served_network(broker, database_url, parties, deals, replicas=2) as net:
        leads = [f"lead-{n}" for n in range(12)]
        await net.publish(*(lead(n, SHOP.id, "north") for n in leads))
        events = await net.events_until(
            lambda evs: all(of_type(evs, LeadDelivered, n) for n in leads)
        )
        # The capacity-1 partner received exactly one offer across both replicas.
        assert len(net.receiver.requests[small.id]) == 1
        assert len(offered_leads(net.receiver, big.id)) == len(leads) - 1
        assert sum(len(of_type(events, LeadRouted, n)) for n in leads) == len(leads)
