"""``make bench``: what metrics and tracing cost intake. Leads/s accepted (202, stored with
their outbox row) by intake as it runs by default, against a baseline measured in the same run:
a second intake process on the same database and broker with ``CROSSLEAD_TELEMETRY=0`` (no
metrics, no spans). The two are measured in alternating rounds, so load on the machine hits
both alike; the medians of the rounds are compared.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

from crosslead_local.localstack import LocalStack, free_port
from tests.bench.leads import CONCURRENCY, UNREFUSED, rate
from tests.e2e.harness import lead
from tests.support import ADMIN, ADMIN_TOKEN

REQUESTS = 400
ROUNDS = 5


async def bench(stack: LocalStack) -> None:
    bare = await asyncio.to_thread(
        stack.start_replica, "intake", "intake-bare", {"CROSSLEAD_TELEMETRY": "0"}
    )
    urls = {"on": stack.url("intake"), "off": bare}
    async with httpx.AsyncClient(timeout=30) as http:
        created = await http.post(
            f"{urls['on']}/v1/partners",
            headers=ADMIN,
            json={"name": "Window shop", "offers": ["windows"], "regions": ["berlin"]},
        )
        assert created.status_code == 201, created.text
        auth = {"Authorization": f"Bearer {created.json()['api_key']}"}
        rates: dict[str, list[float]] = {"on": [], "off": []}
        sent = 0
        for _ in range(ROUNDS):
            for kind, base in urls.items():

                async def post(n: int, base: str = base, first: int = sent) -> None:
                    body = lead("berlin", f"+49 50 {7000000 + first + n}")
                    response = await http.post(f"{base}/v1/leads", headers=auth, json=body)
                    assert response.status_code == 202, response.text

                rates[kind].append(await rate(post, REQUESTS))
                sent += REQUESTS
    on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
    print(f"\ncost of metrics + tracing on intake, POST /v1/leads, {CONCURRENCY} concurrent:")
    print(
        f"  telemetry on (default):         median {on:.0f} leads/s "
        f"(rounds: {', '.join(f'{r:.0f}' for r in rates['on'])})"
    )
    print(
        f"  baseline CROSSLEAD_TELEMETRY=0: median {off:.0f} leads/s "
        f"(rounds: {', '.join(f'{r:.0f}' for r in rates['off'])})"
    )
    print(f"  → ratio {on / off:.2f} (best rounds: {max(rates['on']) / max(rates['off']):.2f})")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # intake alone: the router and payouts play no part in accepting a lead.
        stack = LocalStack(
            var_dir=Path(tmp),
            admin_token=ADMIN_TOKEN,
            broker_port=free_port(),
            ports={"intake": free_port()},
            extra_env=UNREFUSED,
        )
        with stack:
            asyncio.run(bench(stack))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
