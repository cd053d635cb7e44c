"""Restarts lose nothing on the embedded broker, which keeps events in memory only: the whole
local stack is stopped with SIGINT while leads stream through and deals are being booked, and
started again on the same databases with a broker that came back empty."""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from crosslead_local.localstack import LocalStack
from tests.e2e.harness import Client
from tests.support import eventually
from tests.support.webhooks import Receiver

LEADS = 40
DEALS = 4


async def test_ctrl_c_mid_stream_and_restart_delivers_every_lead_once_and_books_every_deal_once(
    stack: LocalStack, client: Client, receiver: tuple[Receiver, str]
) -> None:
    hooks, base_url = receiver
    shop = await client.partner("Window shop", ["windows"], ["berlin"])
    fitter = await client.partner("Berlin fitters", ["installation"], ["berlin"])
    await client.agreement(shop, fitter)
    await client.webhook_endpoint(fitter, hooks, base_url)

    accepted: list[str] = []  # every lead intake answered 202

    async def stream() -> None:
        for n in range(LEADS):
            with contextlib.suppress(httpx.TransportError, AssertionError):
                accepted.append(await client.submit_lead(shop, phone=f"+49 30 {5560000 + n}"))
            await asyncio.sleep(0.02)

    streaming = asyncio.create_task(stream())
    await eventually(lambda: len(hooks.offers) >= DEALS, timeout=30)
    dealt = [offer.body["data"]["lead_id"] for offer in hooks.offers[:DEALS]]
    for n, lead_id in enumerate(dealt):
        await client.accept(fitter, lead_id)
        await client.report_deal(fitter, lead_id, f"deal-{n}", "won", "1000.00")
    await asyncio.to_thread(stack.stop)  # SIGINT to every service, then the broker
    streaming.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await streaming
    # The stop really hit mid-stream: some accepted leads had not reached the partner yet.
    assert len({o.body["data"]["lead_id"] for o in hooks.offers}) < len(accepted)

    await asyncio.to_thread(stack.start)  # same databases, a new and empty broker

    def all_delivered() -> bool:
        return {o.body["data"]["lead_id"] for o in hooks.offers} >= set(accepted)

    await eventually(all_delivered, timeout=90)
    webhook_ids: dict[str, set[str]] = {}
    for offer in hooks.offers:
        if offer.body["type"] != "lead.offered":
            continue  # the fitter also hears of the commission on each deal
        webhook_ids.setdefault(offer.body["data"]["lead_id"], set()).add(offer.webhook_id)
    assert set(webhook_ids) == set(accepted)
    assert all(len(ids) == 1 for ids in webhook_ids.values()), webhook_ids

    async def statement() -> dict[str, str] | None:
        response = await client.get("payouts", "/v1/statements", shop.auth)
        if response.status_code != 200:
            return None  # 401 until payouts has caught up with the shop's registration
        totals = response.json()["currency_totals"]
        return totals[0] if totals and totals[0]["earned"] == f"{100 * DEALS}.00" else None

    await eventually(statement, timeout=60)
    await asyncio.sleep(2)  # anything booked twice would show by now
    assert (await statement()) is not None
    for lead_id in dealt:
        assert "commission_accrued" in await client.until_recorded(lead_id, "commission_accrued")
