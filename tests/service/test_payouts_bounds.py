"""Money bounds in payouts: the largest amount anything accepts (10^12 major units) is booked
exactly, the tiered volume stays an integer, and a refund lowers the volume that tiered
commission counts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy import text

from crosslead_common.events import Topic
from crosslead_common.terms import Tier, TieredCommission
from tests.support.payouts import INSTALLER, SHOP, conversion, partner
from tests.support.services import Service, in_process

pytestmark = pytest.mark.schema("payouts")

TIERED = TieredCommission(
    currency="EUR",
    tiers=(
        Tier(from_amount=Decimal(0), rate=Decimal("0.10")),
        Tier(from_amount=Decimal(50_000), rate=Decimal("0.20")),
    ),
)


@pytest.fixture
async def payouts(database_url: str) -> AsyncIterator[Service]:
    async with in_process("payouts", database_url) as service:
        await service.deliver(partner(SHOP), partner(INSTALLER))
        yield service


async def accrued(payouts: Service) -> list[tuple[str, str, str]]:
    return [
        (e.subject, e.type.split(".")[2], e.data["commission"])
        for e in await payouts.outbox(Topic.COMMISSIONS)
    ]


async def volume(payouts: Service) -> object:
    async with payouts.db.sessionmaker() as session:
        return await session.scalar(text("SELECT won_minor FROM agreement_volumes"))


async def test_a_refunded_deal_no_longer_lifts_later_deals_into_a_higher_tier(
    payouts: Service,
) -> None:
    await payouts.deliver(conversion("lead_1", "won", "50000.00", commission=TIERED))
    await payouts.deliver(conversion("lead_1", "refunded", "50000.00", commission=TIERED))
    await payouts.deliver(conversion("lead_2", "won", "1000.00", commission=TIERED))
    assert await accrued(payouts) == [
        ("lead_1", "accrued", "5000.00"),
        ("lead_1", "reversed", "5000.00"),
        ("lead_2", "accrued", "100.00"),  # 10 %: the refunded 50 000 counts no more
    ]
    assert await volume(payouts) == 100_000  # 1 000.00 EUR in cents, an integer


async def test_the_largest_amounts_are_booked_exactly(payouts: Service) -> None:
    largest = "1000000000000.00"
    await payouts.deliver(conversion("lead_1", "won", largest, commission=TIERED))
    await payouts.deliver(conversion("lead_2", "won", largest, commission=TIERED))
    assert await accrued(payouts) == [
        ("lead_1", "accrued", "199999995000.00"),  # 10 % of 50 000, 20 % of the rest
        ("lead_2", "accrued", "200000000000.00"),
    ]
    stored = await volume(payouts)
    assert isinstance(stored, int)
    assert stored == 2 * 10**14
