"""``make bench``: lead latency and intake throughput on the local stack (SQLite + embedded
broker, the three services as processes), each printed against a baseline measured in the same
run on the same machine:

- POST /v1/leads → signed webhook received, p50/p99 over 200 leads; baseline: a plain HTTP POST
  from this process to the same webhook receiver (the floor of one HTTP hop).
- leads/s accepted by intake (202, durably stored) at 16 concurrent clients; baseline: GET
  /healthz on the same intake process at the same concurrency (the HTTP stack alone).
- POST /v1/leads/{id}/reject → the next partner's webhook received, p50/p99 over 50 leads
  (intake → broker → router re-routes → dispatcher); same baseline as the first.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from standardwebhooks import Webhook

from crosslead_local.localstack import LocalStack, free_port
from tests.e2e.harness import Client, lead
from tests.support import ADMIN_TOKEN, eventually, serve
from tests.support.webhooks import Offer, Receiver

LATENCY_LEADS = 200
THROUGHPUT_REQUESTS = 1000
CONCURRENCY = 16
REROUTED_LEADS = 50
#: The rate limiter runs (its cost is part of what is measured) but never refuses one client
#: sending everything with one key.
UNREFUSED = {"CROSSLEAD_RATE_LIMIT_PER_SECOND": "1000000", "CROSSLEAD_RATE_LIMIT_BURST": "1000000"}


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def rate(request: Callable[[int], Awaitable[None]], total: int) -> float:
    """Requests per second with CONCURRENCY workers sharing ``total`` requests."""
    counter = iter(range(total))

    async def worker() -> None:
        for n in counter:
            await request(n)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return total / (time.perf_counter() - started)


async def bench(stack: LocalStack) -> None:
    hooks = Receiver()
    async with serve(hooks.app()) as hook_url, httpx.AsyncClient(timeout=30) as http:
        client = Client(stack, http)
        shop = await client.partner("Window shop", ["windows"], ["berlin"])
        fitter = await client.partner("Berlin fitters", ["installation"], ["berlin"])
        await client.agreement(shop, fitter)
        await client.webhook_endpoint(fitter, hooks, hook_url)
        await client.submit_lead(shop)  # warm-up: consumer groups joined, paths hot
        await eventually(lambda: hooks.offers, timeout=60)

        # Latency: one lead at a time, from the POST to the verified webhook.
        latencies = []
        for n in range(LATENCY_LEADS):

            def arrived(before: int = len(hooks.offers)) -> bool:
                return len(hooks.offers) > before

            started = time.monotonic()
            await client.submit_lead(shop, phone=f"+49 30 {4440000 + n}")
            await eventually(arrived, timeout=30, interval=0.001)
            latencies.append((hooks.offers[-1].received_at - started) * 1000)

        signer = Webhook(hooks.secrets[fitter.id])
        probe = '{"type":"baseline","data":{"lead_id":"baseline"}}'
        floor = []
        for n in range(LATENCY_LEADS):
            started = time.monotonic()
            now = datetime.now(UTC)
            headers = {
                "webhook-id": f"msg_{n}",
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": signer.sign(f"msg_{n}", now, probe),
            }
            response = await http.post(
                f"{hook_url}/hooks/{fitter.id}", content=probe, headers=headers
            )
            assert response.status_code == 204
            floor.append((time.monotonic() - started) * 1000)

        # Throughput: leads accepted by intake vs. its bare HTTP stack.
        leads_url = client.url("intake", "/v1/leads")

        async def post_lead(n: int) -> None:
            response = await http.post(
                leads_url, headers=shop.auth, json=lead("berlin", f"+49 40 {6000000 + n}")
            )
            assert response.status_code == 202, response.text

        async def get_health(_: int) -> None:
            assert (await http.get(client.url("intake", "/healthz"))).status_code == 200

        health_rate = await rate(get_health, THROUGHPUT_REQUESTS)
        lead_rate = await rate(post_lead, THROUGHPUT_REQUESTS)
        rerouting = await reject_to_next_offer(client, hooks, hook_url)

    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    f50 = percentile(floor, 50)
    print(f"\nPOST /v1/leads → webhook received, {LATENCY_LEADS} leads (one at a time):")
    print(f"  p50 {p50:.1f} ms   p99 {p99:.1f} ms   max {max(latencies):.1f} ms")
    print(
        f"  baseline, one plain HTTP POST to the receiver: p50 {f50:.2f} ms "
        f"→ ratio p50/baseline {p50 / f50:.1f}x"
    )
    print(f"\nintake throughput, {THROUGHPUT_REQUESTS} requests, {CONCURRENCY} concurrent:")
    print(f"  POST /v1/leads (202, stored + outbox): {lead_rate:.0f} leads/s")
    print(
        f"  baseline GET /healthz, same process:   {health_rate:.0f} req/s "
        f"→ ratio {lead_rate / health_rate:.2f}"
    )
    print(f"  mean webhook latency {statistics.mean(latencies):.1f} ms")
    r50, r99 = percentile(rerouting, 50), percentile(rerouting, 99)
    print(f"\nPOST /v1/leads/{{id}}/reject → next partner's webhook, {REROUTED_LEADS} leads:")
    print(f"  p50 {r50:.1f} ms   p99 {r99:.1f} ms   max {max(rerouting):.1f} ms")
    print(f"  → ratio p50/baseline {r50 / f50:.1f}x")


async def offers_of(hooks: Receiver, lead_id: str, count: int) -> list[Offer]:
    def made() -> list[Offer] | None:
        offers = hooks.offers_for(lead_id)
        return offers if len(offers) >= count else None

    return await eventually(made, timeout=30, interval=0.001)


async def reject_to_next_offer(client: Client, hooks: Receiver, hook_url: str) -> list[float]:
    """Milliseconds from a rejection to the next partner's webhook, for leads of a shop with
    two partners (each lead is offered to one, which rejects it)."""
    shop = await client.partner("Door shop", ["doors"], ["hamburg"])
    fitters = {}
    for name in ("Hamburg fitters", "Elbe installers"):
        fitter = await client.partner(name, ["installation"], ["hamburg"])
        await client.agreement(shop, fitter)
        await client.webhook_endpoint(fitter, hooks, hook_url)
        fitters[fitter.id] = fitter
    samples = []
    for n in range(REROUTED_LEADS):
        lead_id = await client.submit_lead(shop, region="hamburg", phone=f"+49 40 {7000000 + n}")
        [first] = await offers_of(hooks, lead_id, 1)
        started = time.monotonic()
        await client.reject(fitters[first.partner_id], lead_id)
        second = (await offers_of(hooks, lead_id, 2))[1]
        samples.append((second.received_at - started) * 1000)
    return samples


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ports = {name: free_port() for name in ("intake", "router", "payouts")}
        stack = LocalStack(
            var_dir=Path(tmp),
            admin_token=ADMIN_TOKEN,
            broker_port=free_port(),
            ports=ports,
            extra_env=UNREFUSED,
        )
        with stack:
            asyncio.run(bench(stack))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
