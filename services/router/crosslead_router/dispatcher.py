"""The webhook dispatcher: a background worker beside the Kafka consumer.

It claims due deliveries from the database, POSTs each signed webhook with a shared HTTP
client (at most ``webhook_concurrency`` at once, each bounded by ``webhook_timeout_seconds``) and
records the outcome. Retries are rows with a next attempt time, so a slow or failing partner
holds up neither the consumer nor the dispatcher. Free capacity is shared round-robin among the
partners with due work, no partner has more than ``webhook_concurrency_per_endpoint`` attempts
in flight, and a circuit breaker per partner stops attempts at an endpoint that keeps failing
(then probes it with one): so a hanging partner cannot take the capacity others need. It is
woken right after a delivery is committed or an attempt ends, and otherwise sleeps until the
next one is due (or the poll interval).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections import Counter
from datetime import datetime, timedelta

import aiohttp
from opentelemetry.trace import SpanKind

from crosslead_common.db import Database, utcnow
from crosslead_common.observability.metrics import webhook_attempt
from crosslead_common.observability.tracing import continue_trace, current_traceparent
from crosslead_router import delivery
from crosslead_router.breaker import Breakers
from crosslead_router.delivery import Job, Outcome
from crosslead_router.recorder import OutcomeRecorder
from crosslead_router.retries import RetryPolicy
from crosslead_router.service import DELIVERIES_WAKEUP
from crosslead_router.settings import RouterSettings
from crosslead_router.signing import webhook_headers
from crosslead_router.urls import UnsafeUrl, check_url

__all__ = ["Dispatcher", "wait_for_work"]

log = logging.getLogger(__name__)

USER_AGENT = "Crosslead-Webhooks/1"


async def wait_for_work(wakeup: asyncio.Event, due: datetime | None, poll: float) -> None:
    """Sleep until ``wakeup`` is set, ``due`` comes, or ``poll`` seconds pass."""
    timeout = poll
    if due is not None:
        # The floor stops a busy loop on work that another replica holds locked right now.
        timeout = min(poll, max((due - utcnow()).total_seconds(), 0.02))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wakeup.wait(), timeout)


class Dispatcher:
    def __init__(
        self, db: Database, settings: RouterSettings, *, rng: random.Random | None = None
    ) -> None:
        self._db = db
        self._settings = settings
        self._poll = settings.dispatcher_poll_interval_seconds
        self._policy = RetryPolicy(
            settings.webhook_backoff_seconds,
            settings.webhook_max_attempts,
            settings.webhook_backoff_jitter,
        )
        # Longer than any attempt can take, so a claim never lapses while its attempt runs.
        self._lease = timedelta(seconds=settings.webhook_timeout_seconds + 30)
        self._rng = rng or random.Random()
        self._vault = settings.customer_vault()
        self._wakeup = db.wakeup(DELIVERIES_WAKEUP)
        self._inflight: set[asyncio.Task[None]] = set()
        self._per_partner = settings.webhook_concurrency_per_endpoint
        self._busy: Counter[str] = Counter()
        self._breakers = Breakers(
            settings.webhook_breaker_failures, settings.webhook_breaker_cooldown_seconds
        )
        self._recorder = OutcomeRecorder(
            db,
            self._policy,
            self._rng,
            timedelta(seconds=settings.endpoint_disable_after_seconds),
        )

    def new_client(self) -> aiohttp.ClientSession:
        """The HTTP client attempts are made with (aiohttp: in ``make bench`` it sends many
        times faster than httpx at the same concurrency). It never uses a proxy from the
        environment, which would defeat the SSRF pinning; :meth:`send` follows no redirects."""
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._settings.webhook_concurrency),
            timeout=aiohttp.ClientTimeout(total=self._settings.webhook_timeout_seconds),
            headers={"user-agent": USER_AGENT},
            trust_env=False,
        )

    async def run(self) -> None:
        concurrency = self._settings.webhook_concurrency
        async with self.new_client() as client:
            recorder = asyncio.create_task(self._recorder.run(), name="webhook-outcomes")
            try:
                while True:
                    self._wakeup.clear()
                    free = concurrency - len(self._inflight)
                    if free == 0:  # until an attempt finishes
                        await wait_for_work(self._wakeup, None, self._poll)
                    elif await self._claim_and_start(client, free) < free:
                        await self._sleep()
            finally:
                for task in (*self._inflight, recorder):
                    task.cancel()
                await asyncio.gather(*self._inflight, recorder, return_exceptions=True)

    def _limits(self) -> tuple[dict[str, int], set[str]]:
        """Slots counted as taken per partner (a half-open breaker leaves one), and the
        partners that get none now (breaker open, or all their slots in flight)."""
        now, busy, blocked = time.monotonic(), dict(self._busy), set()
        for partner_id in self._breakers.tripped():
            room = self._breakers.room(partner_id, now, self._per_partner)
            busy[partner_id] = busy.get(partner_id, 0) + self._per_partner - room
        for partner_id, taken in busy.items():
            if taken >= self._per_partner:
                blocked.add(partner_id)
        return busy, blocked

    async def _claim_and_start(self, client: aiohttp.ClientSession, limit: int) -> int:
        busy, blocked = self._limits()
        try:
            async with self._db.transaction() as session:
                jobs = await delivery.claim_due(
                    session,
                    now=utcnow(),
                    limit=limit,
                    lease=self._lease,
                    per_partner=self._per_partner,
                    busy=busy,
                    blocked=blocked,
                    vault=self._vault,
                )
        except Exception:
            log.exception("claiming due deliveries failed; retrying")
            return 0
        for job in jobs:
            self._busy[job.partner_id] += 1
            task = asyncio.create_task(self._attempt(client, job), name=job.delivery_id)
            self._inflight.add(task)
            task.add_done_callback(functools.partial(self._finished, job.partner_id))
        return len(jobs)

    def _finished(self, partner_id: str, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._busy[partner_id] -= 1
        if self._busy[partner_id] <= 0:
            del self._busy[partner_id]
        self._wakeup.set()  # a slot is free again

    async def _sleep(self) -> None:
        _, blocked = self._limits()
        try:
            async with self._db.sessionmaker() as session:
                due = await delivery.next_attempt_time(session, blocked)
        except Exception:
            log.exception("reading the next delivery time failed")
            due = None
        reopens = self._breakers.next_change(time.monotonic())
        if reopens is not None:
            probe_at = utcnow() + timedelta(seconds=reopens)
            due = probe_at if due is None else min(due, probe_at)
        await wait_for_work(self._wakeup, due, self._poll)

    async def _attempt(self, client: aiohttp.ClientSession, job: Job) -> None:
        with continue_trace("webhook POST", job.traceparent, kind=SpanKind.CLIENT):
            outcome = await self.send(client, job)
        webhook_attempt(outcome.url, outcome.status_code, outcome.duration_ms / 1000)
        if job.url is not None:  # no endpoint is not the endpoint's fault
            self._breakers.record(job.partner_id, outcome.ok, time.monotonic())
        await self._recorder.record(job, outcome)

    async def send(self, client: aiohttp.ClientSession, job: Job) -> Outcome:
        """Make one attempt; never raises (every failure is an outcome)."""
        at, started = utcnow(), time.monotonic()
        status_code, error = None, None
        try:
            status_code = await self._post(client, job)
        except _AttemptFailed as exc:
            error = str(exc)
        except Exception as exc:
            # Still an outcome: an attempt that is never recorded would be retried forever.
            log.exception("attempt %d of %s failed unexpectedly", job.attempt, job.delivery_id)
            error = f"unexpected error: {type(exc).__name__}"
        duration_ms = round((time.monotonic() - started) * 1000)
        return Outcome(at, job.url, status_code, error, duration_ms)

    async def _post(self, client: aiohttp.ClientSession, job: Job) -> int:
        if job.url is None or not job.secrets:
            raise _AttemptFailed(f"partner {job.partner_id} has no active webhook endpoint")
        try:
            target = await check_url(job.url, allow_private=self._settings.webhook_allow_private)
        except UnsafeUrl as exc:
            raise _AttemptFailed(f"refused to call the URL: {exc}") from exc
        body = job.body.encode()
        headers = webhook_headers(job.secrets, job.webhook_id, int(time.time()), body)
        if traceparent := current_traceparent():
            headers["traceparent"] = traceparent
        url, sni = job.url, None
        if target is not None:  # connect to the checked address, present the URL's host
            url, headers["host"], sni = target.url, target.host_header, target.sni_hostname
        timeout = self._settings.webhook_timeout_seconds
        try:
            async with (
                asyncio.timeout(timeout),
                client.post(
                    url, data=body, headers=headers, allow_redirects=False, server_hostname=sni
                ) as response,
            ):
                # The answer's body is never read: only the status matters.
                return response.status
        except TimeoutError as exc:
            raise _AttemptFailed(f"no answer within {timeout:g}s") from exc
        except (aiohttp.ClientError, ValueError) as exc:
            raise _AttemptFailed(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc


class _AttemptFailed(Exception):
    pass
