"""The webhook dispatcher: a background worker beside the Kafka consumer.

It claims due deliveries from the database, POSTs each signed webhook (at most
``webhook_concurrency`` at once, each bounded by ``webhook_timeout_seconds``) and records the
outcome. Retries are rows with a next attempt time, so a slow or failing partner holds up
neither the consumer nor the dispatcher.

Isolation is per endpoint: no endpoint has more than ``webhook_concurrency_per_endpoint``
attempts in flight, free capacity goes round-robin to the endpoints with due work, and a
circuit breaker per endpoint stops attempts at one that keeps failing (then probes it with
one): so a hanging endpoint cannot take the capacity others need.

The bookkeeping is in bulk, so that it keeps up with partners that answer fast: one claim
transaction takes many due deliveries (up to :data:`AHEAD` more rounds per endpoint than may
be in flight, queued here, so a slot that frees is filled at once), a slot is free again as
soon as its answer is in, and the outcomes are written in batches (:class:`OutcomeRecorder`). An
outcome that is never written (the process died) leaves its delivery claimed until the lease
runs out; then it is attempted again under the same webhook id.

It is woken right after a delivery is committed or an attempt ends, and otherwise sleeps until
the next one is due (or the poll interval).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, deque
from datetime import datetime, timedelta
from urllib.parse import urlsplit

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

__all__ = ["Dispatcher", "WebhookClients", "wait_for_work"]

log = logging.getLogger(__name__)

USER_AGENT = "Crosslead-Webhooks/1"
#: Rounds of attempts per endpoint claimed beyond those in flight.
AHEAD = 2


async def wait_for_work(wakeup: asyncio.Event, due: datetime | None, poll: float) -> None:
    """Sleep until ``wakeup`` is set, ``due`` comes, or ``poll`` seconds pass."""
    timeout = poll
    if due is not None:
        # The floor stops a busy loop on work that another replica holds locked right now.
        timeout = min(poll, max((due - utcnow()).total_seconds(), 0.02))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wakeup.wait(), timeout)


class WebhookClients:
    """The HTTP clients attempts are made with (aiohttp: in ``make bench`` it sends many times
    faster than httpx at the same concurrency), one per host (and port) of the webhook URLs.
    An attempt connects to the address its host was checked to resolve to; with one shared
    pool, a connection opened for one host could carry a request for another host that
    resolves to the same address (over a TLS session made for the first one's name). A client
    never uses a proxy from the environment, which would defeat the SSRF pinning."""

    def __init__(self, settings: RouterSettings) -> None:
        self._settings = settings
        self._clients: dict[str, aiohttp.ClientSession] = {}

    def for_host(self, host: str) -> aiohttp.ClientSession:
        client = self._clients.get(host)
        if client is None:
            client = self._clients[host] = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._settings.webhook_concurrency),
                timeout=aiohttp.ClientTimeout(total=self._settings.webhook_timeout_seconds),
                headers={"user-agent": USER_AGENT},
                trust_env=False,
            )
        return client

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)

    async def __aenter__(self) -> WebhookClients:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


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
        self._concurrency = settings.webhook_concurrency
        self._per_endpoint = settings.webhook_concurrency_per_endpoint
        # Claimed ahead: AHEAD more rounds per endpoint than may be in flight, so that claims
        # (and the batches of outcomes) are large; in all, as many more being recorded.
        self._per_endpoint_held = (1 + AHEAD) * self._per_endpoint
        self._most_held = (1 + 2 * AHEAD) * self._concurrency
        # Longer than a claim can wait here and its attempt take (AHEAD attempts ahead of it
        # at its endpoint, its own attempt), so a claim never lapses while its delivery is
        # queued or in flight. (Those queued for an endpoint whose breaker opens are let go:
        # they are attempted again once their lease runs out.)
        self._lease = timedelta(seconds=(1 + AHEAD) * settings.webhook_timeout_seconds + 30)
        self._rng = rng or random.Random()
        self._vault = settings.customer_vault()
        self._wakeup = db.wakeup(DELIVERIES_WAKEUP)
        self._tasks: set[asyncio.Task[None]] = set()
        #: Claimed deliveries waiting for a slot, by endpoint, in round-robin order.
        self._queued: dict[str, deque[Job]] = {}
        #: Attempts in flight, by endpoint and in all.
        self._in_flight: Counter[str] = Counter()
        self._flying = 0
        #: Claimed deliveries queued or in flight, by endpoint.
        self._held: Counter[str] = Counter()
        #: Claimed deliveries whose outcome is not written yet.
        self._holding = 0
        self._breakers = Breakers(
            settings.webhook_breaker_failures, settings.webhook_breaker_cooldown_seconds
        )
        self._recorder = OutcomeRecorder(
            db,
            self._policy,
            self._rng,
            timedelta(seconds=settings.endpoint_disable_after_seconds),
        )

    def new_client(self) -> WebhookClients:
        """The HTTP clients to make attempts with; :meth:`send` follows no redirects."""
        return WebhookClients(self._settings)

    async def run(self) -> None:
        async with self.new_client() as clients:
            recorder = asyncio.create_task(self._recorder.run(), name="webhook-outcomes")
            try:
                while True:
                    self._wakeup.clear()
                    self._start(clients)
                    room = self._most_held - self._holding
                    free = self._concurrency - self._flying
                    # Claim in batches: once a round is recorded, or when a slot is idle.
                    if room > 0 and (room >= self._concurrency or free > 0):
                        now = utcnow()
                        claimed = await self._claim(room, now)
                        self._start(clients)
                        if claimed < room:
                            await self._sleep(now)
                    else:  # until an attempt ends
                        await wait_for_work(self._wakeup, self._probe_time(), self._poll)
            finally:
                for task in (*self._tasks, recorder):
                    task.cancel()
                await asyncio.gather(*self._tasks, recorder, return_exceptions=True)

    def _taken(self) -> dict[str, int]:
        """Claims counted as held per endpoint: those queued or in flight, plus what its breaker
        withholds (all while open; all but one, the probe, once half-open)."""
        now, most = time.monotonic(), self._per_endpoint_held
        taken = {slot: count for slot, count in self._held.items() if count}
        for slot in self._breakers.tripped():
            taken[slot] = taken.get(slot, 0) + most - self._breakers.room(slot, now, most)
        return taken

    async def _claim(self, limit: int, now: datetime) -> int:
        try:
            async with self._db.transaction() as session:
                jobs = await delivery.claim_due(
                    session,
                    now=now,
                    limit=limit,
                    lease=self._lease,
                    per_endpoint=self._per_endpoint_held,
                    taken=self._taken(),
                    vault=self._vault,
                )
        except Exception:
            log.exception("claiming due deliveries failed; retrying")
            return 0
        for job in jobs:
            self._held[job.slot] += 1
            self._holding += 1
            self._queued.setdefault(job.slot, deque()).append(job)
        return len(jobs)

    def _start(self, clients: WebhookClients) -> None:
        """Start queued attempts while slots are free: one per endpoint in turn, each
        endpoint within its limit (and its breaker's)."""
        now = time.monotonic()
        while self._flying < self._concurrency and self._queued:
            started = False
            for slot in list(self._queued):
                if self._flying >= self._concurrency:
                    break
                if self._in_flight[slot] >= self._breakers.room(slot, now, self._per_endpoint):
                    continue
                queue = self._queued.pop(slot)
                job = queue.popleft()
                if queue:  # its next one waits behind the other endpoints' turns
                    self._queued[slot] = queue
                self._in_flight[slot] += 1
                self._flying += 1
                task = asyncio.create_task(self._attempt(clients, job), name=job.delivery_id)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                started = True
            if not started:
                return

    def _let_go(self, slot: str) -> None:
        """Forget the deliveries queued for ``slot`` (its breaker is open): their leases run
        out, and they are claimed again after that."""
        queued = self._queued.pop(slot, None) or deque()
        for _ in queued:
            self._held[slot] -= 1
            self._holding -= 1
        if self._held[slot] <= 0:
            self._held.pop(slot, None)

    def _probe_time(self) -> datetime | None:
        reopens = self._breakers.next_change(time.monotonic())
        return None if reopens is None else utcnow() + timedelta(seconds=reopens)

    async def _sleep(self, claimed_at: datetime) -> None:
        """Until the next delivery that was not due at the last claim is due (what was due
        then and not claimed waits for a slot: an attempt's end wakes this), or a breaker
        lets a probe out."""
        try:
            async with self._db.sessionmaker() as session:
                due = await delivery.next_attempt_time(session, claimed_at)
        except Exception:
            log.exception("reading the next delivery time failed")
            due = None
        probe = self._probe_time()
        if probe is not None:
            due = probe if due is None else min(due, probe)
        await wait_for_work(self._wakeup, due, self._poll)

    async def _attempt(self, clients: WebhookClients, job: Job) -> None:
        slot = job.slot
        try:
            try:
                with continue_trace("webhook POST", job.traceparent, kind=SpanKind.CLIENT):
                    outcome = await self.send(clients, job)
            finally:
                for counts in (self._in_flight, self._held):
                    counts[slot] -= 1
                    if counts[slot] <= 0:
                        del counts[slot]
                self._flying -= 1
                self._wakeup.set()  # a slot is free again
            webhook_attempt(outcome.url, outcome.status_code, outcome.duration_ms / 1000)
            if job.url is not None:  # no endpoint is not the endpoint's fault
                self._breakers.record(slot, outcome.ok, time.monotonic())
                if not outcome.ok and slot in self._breakers.tripped():
                    self._let_go(slot)
            await self._recorder.record(job, outcome)
        finally:
            self._holding -= 1
            self._wakeup.set()

    async def send(self, clients: WebhookClients, job: Job) -> Outcome:
        """Make one attempt; never raises (every failure is an outcome)."""
        at, started = utcnow(), time.monotonic()
        status_code, error = None, None
        try:
            status_code = await self._post(clients, job)
        except _AttemptFailed as exc:
            error = str(exc)
        except Exception as exc:
            # Still an outcome: an attempt that is never recorded would be retried forever.
            log.exception("attempt %d of %s failed unexpectedly", job.attempt, job.delivery_id)
            error = f"unexpected error: {type(exc).__name__}"
        duration_ms = round((time.monotonic() - started) * 1000)
        return Outcome(at, job.url, status_code, error, duration_ms)

    async def _post(self, clients: WebhookClients, job: Job) -> int:
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
        url, sni, host = job.url, None, urlsplit(job.url).netloc
        if target is not None:  # connect to the checked address, present the URL's host
            url, headers["host"], sni = target.url, target.host_header, target.sni_hostname
            host = target.host_header
        client = clients.for_host(host)
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
