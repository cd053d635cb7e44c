"""``make bench``: the pipeline figures of issue 10, each against its baseline measured in the
same run, on SQLite and (when ``TEST_POSTGRES_URL`` is set) PostgreSQL side by side.

For each database kind the whole stack runs as processes (embedded broker, intake, router,
payouts on that kind of database) with one source partner, one target partner and a real
webhook receiver in this process:

- intake leads/s: a burst of ``BURST`` leads from ``CONCURRENCY`` clients, leads answered 202
  per second; baseline: :mod:`tests.bench.baseline` (pydantic validation + one INSERT
  transaction in FastAPI) on the same kind of database, same clients. Target ≥ 0.6x.
- end-to-end leads/s: the same burst, first POST → last verified webhook. Target ≥ 0.3x the
  same baseline.
- POST /v1/leads → verified webhook, one lead at a time: p50 ≤ 30 ms, p99 ≤ 100 ms; baseline:
  one plain signed POST to the same receiver.
- the same latency while leads arrive at half the measured end-to-end maximum: p99 ≤ 250 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from standardwebhooks import Webhook

from crosslead_local.localstack import LocalStack, free_port, wait_for_port
from tests.bench.leads import CONCURRENCY, percentile, rate
from tests.e2e.harness import Client, Partner, lead
from tests.support import ADMIN_TOKEN, eventually, serve
from tests.support.databases import TEST_POSTGRES_URL, postgres_database
from tests.support.webhooks import Receiver

BURST = 600
LATENCY_LEADS = 100
HALF_LOAD_SECONDS = 10.0


@dataclass
class Figures:
    """What one database kind measured; each figure with its baseline."""

    baseline_rate: float = 0.0
    intake_rate: float = 0.0
    e2e_rate: float = 0.0
    latency: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    half_rate: float = 0.0
    half_latency: list[float] = field(default_factory=list)


class Arrivals:
    """When the first verified webhook about each lead arrived (monotonic clock)."""

    def __init__(self, hooks: Receiver) -> None:
        self._hooks = hooks
        self._seen = 0
        self.at: dict[str, float] = {}

    def update(self) -> int:
        for offer in self._hooks.offers[self._seen :]:
            self.at.setdefault(offer.body["data"]["lead_id"], offer.received_at)
        self._seen = len(self._hooks.offers)
        return len(self.at)

    async def all_of(self, lead_ids: list[str], timeout: float = 300) -> float:
        """The arrival of the last of ``lead_ids``."""

        def done() -> bool | None:
            self.update()
            return all(i in self.at for i in lead_ids) or None

        await eventually(done, timeout=timeout, interval=0.002)
        return max(self.at[i] for i in lead_ids)


async def measure_baseline(url: str, http: httpx.AsyncClient) -> float:
    async def post(n: int) -> None:
        response = await http.post(url, json=lead("berlin", f"+49 40 {6000000 + n}"))
        assert response.status_code == 202, response.text

    await rate(post, CONCURRENCY)  # warm-up
    return await rate(post, BURST)


async def measure_stack(
    stack: LocalStack, http: httpx.AsyncClient, figures: Figures, kind: str
) -> None:
    hooks = Receiver()
    arrivals = Arrivals(hooks)
    async with serve(hooks.app()) as hook_url:
        client = Client(stack, http)
        shop = await client.partner("Window shop", ["windows"], ["berlin"])
        fitter = await client.partner("Berlin fitters", ["installation"], ["berlin"])
        await client.agreement(shop, fitter)
        await client.webhook_endpoint(fitter, hooks, hook_url)
        # Warm-up: consumer groups joined, code paths hot.
        warm_up = [await client.submit_lead(shop, phone=f"+49 30 {3330000 + n}") for n in range(5)]
        await arrivals.all_of(warm_up, timeout=60)

        for n in range(LATENCY_LEADS):
            started = time.monotonic()
            lead_id = await client.submit_lead(shop, phone=f"+49 30 {4440000 + n}")
            figures.latency.append((await arrivals.all_of([lead_id]) - started) * 1000)
        figures.floor = await plain_posts(http, hooks, hook_url, fitter)

        leads_url = client.url("intake", "/v1/leads")
        lead_ids: list[str] = []

        async def post_lead(n: int) -> None:
            body = lead("berlin", f"+49 40 {6000000 + n}")
            response = await http.post(leads_url, headers=shop.auth, json=body)
            assert response.status_code == 202, response.text
            lead_ids.append(response.json()["id"])

        with profiled(stack, kind):
            started = time.monotonic()
            figures.intake_rate = await rate(post_lead, BURST)
            last = await arrivals.all_of(lead_ids)
        figures.e2e_rate = BURST / (last - started)

        figures.half_rate = figures.e2e_rate / 2
        figures.half_latency = await paced(client, shop, arrivals, figures.half_rate)


async def plain_posts(
    http: httpx.AsyncClient, hooks: Receiver, hook_url: str, fitter: Partner
) -> list[float]:
    """Milliseconds of one plain signed POST to the receiver, LATENCY_LEADS times."""
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
        response = await http.post(f"{hook_url}/hooks/{fitter.id}", content=probe, headers=headers)
        assert response.status_code == 204
        floor.append((time.monotonic() - started) * 1000)
    return floor


async def paced(
    client: Client, shop: Partner, arrivals: Arrivals, per_second: float
) -> list[float]:
    """Latencies (ms) of leads posted at ``per_second``, each on its own schedule."""
    count = max(20, int(per_second * HALF_LOAD_SECONDS))
    sent: dict[str, float] = {}

    async def one(n: int) -> None:
        await asyncio.sleep(n / per_second)
        started = time.monotonic()
        sent[await client.submit_lead(shop, phone=f"+49 30 {5550000 + n}")] = started

    await asyncio.gather(*(one(n) for n in range(count)))
    await arrivals.all_of(list(sent))
    return [(arrivals.at[i] - started) * 1000 for i, started in sent.items()]


@contextlib.contextmanager
def profiled(stack: LocalStack, kind: str) -> Iterator[None]:
    """With ``CROSSLEAD_BENCH_PROFILE=DIR``, sample intake and the router with py-spy (on
    PATH or in ``.tools/bin``) during the block; each one's top frames go to DIR.
    ``--gil`` keeps only samples of the thread running Python, so idle waits do not show."""
    out = os.environ.get("CROSSLEAD_BENCH_PROFILE")
    spy = shutil.which("py-spy") or ".tools/bin/py-spy"
    if not out:
        yield
        return
    Path(out).mkdir(parents=True, exist_ok=True)
    samplers = {
        name: subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(stack.processes[name].pid),
                "--format",
                "raw",
                "--rate",
                "200",
                "--nonblocking",
                "--gil",  # CPU time: only the thread holding the GIL, not idle waits
                "--output",
                f"{out}/{name}-{kind}.txt",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("intake", "router")
    }
    try:
        yield
    finally:
        for name, sampler in samplers.items():
            sampler.send_signal(signal.SIGINT)
            sampler.wait(timeout=30)
            summary = top_frames(Path(f"{out}/{name}-{kind}.txt"))
            Path(f"{out}/{name}-{kind}-top.txt").write_text(summary)


def top_frames(collapsed: Path, count: int = 20) -> str:
    """From py-spy's collapsed stacks: the frames holding most samples on their own (self)
    and with their callees (inclusive, each frame counted once per stack)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames, samples = stack.split(";"), int(count_text)
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames[1:]):  # the first is the process or thread
            inclusive[frame] += samples
    lines = [f"{total} samples"]
    for title, counter in (("self", own), ("inclusive", inclusive)):
        lines.append(f"{title}:")
        for frame, held in counter.most_common(count):
            lines.append(f"{100 * held / max(total, 1):5.1f}%  {frame}")
    return "\n".join(lines) + "\n"


@contextlib.asynccontextmanager
async def database_urls(kind: str, var: Path) -> AsyncIterator[dict[str, str]]:
    """One database per service plus the baseline's, of ``kind``."""
    names = ("intake", "router", "payouts", "baseline")
    if kind == "sqlite":
        yield {name: f"sqlite+aiosqlite:///{var / f'{name}.db'}" for name in names}
        return
    async with contextlib.AsyncExitStack() as stack:
        yield {name: await stack.enter_async_context(postgres_database()) for name in names}


@contextlib.contextmanager
def baseline_server(database_url: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.baseline", database_url, str(port)],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        yield f"http://127.0.0.1:{port}/v1/leads"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def measure(kind: str) -> Figures:
    figures = Figures()
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        async with database_urls(kind, var) as urls, httpx.AsyncClient(timeout=60) as http:
            with baseline_server(urls.pop("baseline")) as baseline_url:
                figures.baseline_rate = await measure_baseline(baseline_url, http)
            ports = {name: free_port() for name in ("intake", "router", "payouts")}
            stack = LocalStack(
                var_dir=var,
                admin_token=ADMIN_TOKEN,
                broker_port=free_port(),
                ports=ports,
                database_urls=urls,
            )
            # The stack runs its own event loop while starting; not on this one.
            await asyncio.to_thread(stack.start)
            try:
                await measure_stack(stack, http, figures, kind)
            finally:
                await asyncio.to_thread(stack.stop)
    return figures


def report(results: dict[str, Figures]) -> None:
    kinds = list(results)
    rows: list[tuple[str, list[str], str]] = []

    def row(label: str, cell: Callable[[Figures], str], target: str) -> None:
        rows.append((label, [cell(results[k]) for k in kinds], target))

    def ratio(value: float, base: float) -> str:
        return f"{value:.0f} / {base:.0f} = {value / base:.2f}x"

    row("intake leads/s vs baseline", lambda f: ratio(f.intake_rate, f.baseline_rate), "≥ 0.6x")
    row("end-to-end leads/s vs baseline", lambda f: ratio(f.e2e_rate, f.baseline_rate), "≥ 0.3x")
    row(
        "POST→webhook p50 (plain POST)",
        lambda f: f"{percentile(f.latency, 50):.1f} ms ({percentile(f.floor, 50):.1f} ms)",
        "≤ 30 ms",
    )
    row(
        "POST→webhook p99 (plain POST)",
        lambda f: f"{percentile(f.latency, 99):.1f} ms ({percentile(f.floor, 99):.1f} ms)",
        "≤ 100 ms",
    )
    row(
        "p99 at half the max (leads/s)",
        lambda f: f"{percentile(f.half_latency, 99):.1f} ms ({f.half_rate:.0f}/s)",
        "≤ 250 ms",
    )
    width = [max(len(r[1][i]) for r in rows) for i in range(len(kinds))]
    print(
        f"\nPipeline, burst of {BURST} leads, {CONCURRENCY} clients; baseline = minimal "
        "FastAPI validate+INSERT on the same database kind"
    )
    header = "".join(f"  {k:<{w}}" for k, w in zip(kinds, width, strict=True))
    print(f"{'figure':<32}{header}  target")
    for label, cells, target in rows:
        line = "".join(f"  {c:<{w}}" for c, w in zip(cells, width, strict=True))
        print(f"{label:<32}{line}  {target}")


def main() -> None:
    kinds = ["sqlite", "postgresql"] if TEST_POSTGRES_URL else ["sqlite"]
    results = {kind: asyncio.run(measure(kind)) for kind in kinds}
    report(results)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
