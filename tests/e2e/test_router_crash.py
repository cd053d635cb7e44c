"""Nothing lost, nothing doubled: the router is SIGKILLed while leads stream through."""

from __future__ import annotations

import asyncio

from crosslead_local.localstack import LocalStack
from tests.e2e.harness import Client
from tests.support import eventually
from tests.support.webhooks import Receiver


async def test_router_killed_mid_stream_delivers_every_lead_under_one_webhook_id(
    stack: LocalStack, client: Client, receiver: tuple[Receiver, str]
) -> None:
    hooks, base_url = receiver
    shop = await client.partner("Window shop", ["windows"], ["berlin"])
    fitter = await client.partner("Berlin fitters", ["installation"], ["berlin"])
    await client.agreement(shop, fitter)
    await client.webhook_endpoint(fitter, hooks, base_url)

    lead_ids: list[str] = []
    restarted = asyncio.Event()

    async def stream() -> None:
        """Leads keep coming before, during and after the crash, ten more once it is over."""
        after_restart = 0
        while after_restart < 10:
            lead_ids.append(
                await client.submit_lead(shop, phone=f"+49 30 {5550000 + len(lead_ids)}")
            )
            after_restart += restarted.is_set()
            await asyncio.sleep(0.02)

    streaming = asyncio.create_task(stream())
    await eventually(lambda: len(hooks.offers) >= 10, timeout=30)
    await asyncio.to_thread(stack.kill, "router")
    submitted_at_crash = len(lead_ids)
    # Leads arrive while the router is down: they are undelivered when it comes back.
    await eventually(lambda: len(lead_ids) >= submitted_at_crash + 5, timeout=30)
    assert len(hooks.offers) < len(lead_ids)
    await asyncio.to_thread(stack.start_service, "router")
    restarted.set()
    await streaming

    def all_delivered() -> bool:
        return {o.body["data"]["lead_id"] for o in hooks.offers} == set(lead_ids)

    await eventually(all_delivered, timeout=90)
    webhook_ids: dict[str, set[str]] = {}
    for offer in hooks.offers:
        webhook_ids.setdefault(offer.body["data"]["lead_id"], set()).add(offer.webhook_id)
    assert len(webhook_ids) == len(lead_ids)
    assert all(len(ids) == 1 for ids in webhook_ids.values()), webhook_ids
    assert hooks.rejected_signatures == 0
