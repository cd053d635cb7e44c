"""Use cases of the webhook dispatcher: claim due deliveries, record what an attempt did. Each
runs inside the caller's transaction and never commits.

Rows are always locked lead first, then its deliveries, so an attempt being recorded and a
deadline being enforced for the same lead cannot deadlock.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.customers import CustomerVault, Undecryptable
from crosslead_common.db import utcnow
from crosslead_common.events import LeadDelivered, LeadDeliveryFailed, WebhookEndpointDisabled
from crosslead_router import notices, repository
from crosslead_router.models import Delivery, RoutedLead, WebhookEndpoint, outbox
from crosslead_router.offers import WEBHOOK_TYPES, webhook_type_of
from crosslead_router.repository import DeliveryGroup
from crosslead_router.retries import RetryPolicy
from crosslead_router.webhooks import LeadDeliveredData

__all__ = [
    "Job",
    "Outcome",
    "claim_due",
    "next_attempt_time",
    "record_outcome",
    "record_outcomes",
    "slot_of",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One attempt to make: what to send, and where (``url`` None: no endpoint for it)."""

    delivery_id: str
    lead_id: str | None
    partner_id: str
    webhook_id: str
    body: str
    attempt: int
    url: str | None
    #: The endpoint's secrets to sign with: the current one, then a rotated one still valid.
    secrets: tuple[str, ...] = ()
    endpoint_id: str | None = None
    traceparent: str | None = None

    @property
    def slot(self) -> str:
        """What its in-flight limit and circuit breaker are counted by: its endpoint."""
        return slot_of(self.partner_id, self.endpoint_id)


def slot_of(partner_id: str, endpoint_id: str | None) -> str:
    """The limits' key of an attempt at ``endpoint_id`` (one without an endpoint fails at
    once, without a request: those are counted by partner)."""
    return endpoint_id or f"partner:{partner_id}"


@dataclass(frozen=True)
class Outcome:
    at: datetime
    url: str | None
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def describe(self) -> str:
        return self.error or f"the endpoint answered HTTP {self.status_code}"


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    lease: timedelta,
    per_endpoint: int = 1_000_000,
    taken: Mapping[str, int] | None = None,
    blocked: Collection[str] = (),
    vault: CustomerVault,
) -> list[Job]:
    """Take up to ``limit`` due deliveries, shared round-robin among the endpoints they go
    to, never more than ``per_endpoint`` for one endpoint counting the ``taken`` ones it
    already has (by :attr:`Job.slot`); ``blocked`` endpoints get none. Each one's next attempt
    time is pushed ``lease`` ahead, so no other dispatcher takes it while its attempt is in
    flight, and a dispatcher that dies mid-attempt only delays it by the lease. Five
    statements however many are claimed (and one for the data keys of sealed customers, which
    are opened with ``vault`` now, or left out once the customer is erased)."""
    groups = await repository.due_groups(session, now)
    endpoints = await repository.endpoints_of(session, {group[0] for group, _ in groups})
    counts = dict(taken or {})
    where: dict[DeliveryGroup, WebhookEndpoint | None] = {}
    left: list[tuple[DeliveryGroup, str, int]] = []
    for group, due in groups:
        partner_id, kind, endpoint_id = group
        endpoint = where[group] = _endpoint_for(kind, endpoint_id, endpoints[partner_id])
        slot = slot_of(partner_id, endpoint.id if endpoint else None)
        if slot not in blocked:
            left.append((group, slot, due))
    # One from each group in turn (the group with the oldest first), within each endpoint's
    # limit, until the claim is full or no group can give more.
    wanted: Counter[DeliveryGroup] = Counter()
    claimed = 0
    while claimed < limit and left:
        still = []
        for group, slot, due in left:
            if claimed == limit:
                break
            if counts.get(slot, 0) >= per_endpoint:
                continue
            counts[slot] = counts.get(slot, 0) + 1
            wanted[group] += 1
            claimed += 1
            if due > 1:
                still.append((group, slot, due - 1))
        left = still
    chosen = await repository.oldest_due(session, now, wanted)
    rows = await repository.lock_due(session, chosen, now)
    sealed = {row.lead_id for row in rows if row.lead_id is not None and _SEALED in row.body}
    data_keys = await repository.data_keys(session, sealed)
    jobs, leased = [], {}
    for row in rows:
        group = (row.partner_id, row.kind, row.endpoint_id)
        if group not in where:  # another replica sent it elsewhere since: not this time
            continue
        endpoint = where[group]
        leased[row.id] = endpoint.id if endpoint else None
        jobs.append(
            Job(
                delivery_id=row.id,
                lead_id=row.lead_id,
                partner_id=row.partner_id,
                webhook_id=row.webhook_id,
                body=_rendered(row, vault, data_keys),
                attempt=row.attempt_count + 1,
                url=endpoint.url if endpoint else None,
                secrets=_secrets(endpoint, now) if endpoint else (),
                endpoint_id=endpoint.id if endpoint else None,
                traceparent=row.traceparent,
            )
        )
    await repository.lease(session, leased, now + lease)
    return jobs


#: How a stored body carries a sealed customer (``webhook_body`` writes compact JSON).
_SEALED = '"customer":{"sealed":'


def _rendered(row: Delivery, vault: CustomerVault, data_keys: Mapping[str, str | None]) -> str:
    """The body to send: as stored, with its sealed customer opened (the same text on every
    attempt), or without it once the customer is erased."""
    if row.lead_id is None or _SEALED not in row.body:
        return row.body
    body = json.loads(row.body)
    try:
        body["data"] = vault.reveal(body["data"], row.lead_id, data_keys.get(row.lead_id))
    except Undecryptable:
        # A customer-data key missing from the configuration must not hold up every webhook.
        log.error("delivery %s: its customer cannot be opened; sent without it", row.id)
        body["data"] = vault.reveal(body["data"], row.lead_id, None)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _endpoint_for(
    kind: str, endpoint_id: str | None, endpoints: Sequence[WebhookEndpoint]
) -> WebhookEndpoint | None:
    """A test event goes to the endpoint it was made for (even a disabled one); anything else
    to the partner's newest enabled endpoint that receives its type."""
    if kind == "test":
        return next((e for e in endpoints if e.id == endpoint_id), None)
    webhook_type = webhook_type_of(kind)
    for endpoint in endpoints:
        if endpoint.status == "enabled" and webhook_type in (endpoint.event_types or WEBHOOK_TYPES):
            return endpoint
    return None


def _secrets(endpoint: WebhookEndpoint, now: datetime) -> tuple[str, ...]:
    until = endpoint.previous_secret_until
    if endpoint.previous_secret and until is not None and until > now:
        return (endpoint.secret, endpoint.previous_secret)
    return (endpoint.secret,)


@dataclass
class _State:
    """A delivery as its attempts leave it (written back in one statement for all)."""

    id: str
    lead_id: str | None
    partner_id: str
    kind: str
    webhook_id: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    last_error: str | None
    delivered_at: datetime | None
    failed_at: datetime | None


async def record_outcome(
    session: AsyncSession,
    job: Job,
    outcome: Outcome,
    policy: RetryPolicy,
    rng: random.Random,
    *,
    disable_after: timedelta = timedelta(days=5),
) -> None:
    """:func:`record_outcomes` for one attempt."""
    await record_outcomes(session, [(job, outcome)], policy, rng, disable_after=disable_after)


async def record_outcomes(
    session: AsyncSession,
    done: Sequence[tuple[Job, Outcome]],
    policy: RetryPolicy,
    rng: random.Random,
    *,
    disable_after: timedelta = timedelta(days=5),
) -> None:
    """Log each attempt; then its delivery is done (LeadDelivered), rescheduled, or given up
    (LeadDeliveryFailed). A delivery called off while the attempt was in flight stays so.
    An endpoint whose attempts have all failed for ``disable_after`` is disabled. The rows of
    all attempts are read (and locked: leads, then deliveries, then endpoints) at once, and
    the attempts and deliveries written in one statement each."""
    lead_ids = sorted({job.lead_id for job, _ in done if job.lead_id is not None})
    leads = await repository.routed_leads(session, lead_ids, for_update=True)
    states = {
        row.id: _State(*row)
        for row in await repository.delivery_states(
            session, sorted({job.delivery_id for job, _ in done})
        )
    }
    recorded, attempts = [], []
    for job, outcome in done:
        lead = leads.get(job.lead_id) if job.lead_id is not None else None
        row = states.get(job.delivery_id)
        if row is None or (job.lead_id is not None and lead is None):
            continue
        recorded.append((job, outcome))
        attempts.append(
            {
                "delivery_id": row.id,
                "at": outcome.at,
                "url": outcome.url,
                "status_code": outcome.status_code,
                "error": outcome.error,
                "duration_ms": outcome.duration_ms,
            }
        )
        row.attempt_count += 1
        if row.status != "pending":
            continue
        if outcome.ok:
            await _delivered(session, lead, row, outcome.at)
        else:
            delay = policy.delay_after(row.attempt_count, rng)
            await _failed(session, row, outcome.describe(), delay)
    await repository.add_attempts(session, attempts)
    touched = {job.delivery_id for job, _ in recorded}
    await repository.save_delivery_states(
        session,
        [
            {
                "id": row.id,
                "status": row.status,
                "attempt_count": row.attempt_count,
                "next_attempt_at": row.next_attempt_at,
                "last_error": row.last_error,
                "delivered_at": row.delivered_at,
                "failed_at": row.failed_at,
            }
            for row in states.values()
            if row.id in touched
        ],
    )
    await _endpoints_health(session, recorded, disable_after)


async def _endpoints_health(
    session: AsyncSession, done: Sequence[tuple[Job, Outcome]], disable_after: timedelta
) -> None:
    """An endpoint whose last attempt succeeded is not failing; one whose last attempts
    failed is failing since the first of them (if it was not already)."""
    outcomes: dict[str, list[Outcome]] = defaultdict(list)
    for job, outcome in done:
        if job.endpoint_id is not None:
            outcomes[job.endpoint_id].append(outcome)
    answered, failing = [], {}
    for endpoint_id in sorted(outcomes):
        ordered = sorted(outcomes[endpoint_id], key=lambda o: o.at)
        last_ok = max((n for n, o in enumerate(ordered) if o.ok), default=-1)
        if last_ok >= 0:
            answered.append(endpoint_id)
        if last_ok < len(ordered) - 1:
            failing[endpoint_id] = ordered[last_ok + 1 :]
    await repository.endpoints_answered(session, answered)
    for endpoint_id, failures in failing.items():
        disabled = await repository.endpoint_failed(
            session, endpoint_id, failures[0].at, failures[-1].at, disable_after
        )
        if disabled is not None and disabled.failing_since is not None:
            await outbox.add(
                session,
                WebhookEndpointDisabled(
                    partner_id=disabled.partner_id,
                    endpoint_id=disabled.id,
                    url=disabled.url,
                    reason="failing",
                    failing_since=disabled.failing_since,
                ),
            )


async def _delivered(
    session: AsyncSession, lead: RoutedLead | None, row: _State, sent_at: datetime
) -> None:
    row.status, row.delivered_at, row.next_attempt_at = "delivered", utcnow(), None
    row.last_error = None
    if row.kind != "offer" or lead is None:  # only an offer's arrival is news to others
        return
    if lead.state == "routed":
        lead.state = "delivered"
    await outbox.add(
        session,
        LeadDelivered(
            lead_id=lead.lead_id,
            delivery_id=row.id,
            target_partner_id=row.partner_id,
            webhook_id=row.webhook_id,
            attempts=row.attempt_count,
            sent_at=sent_at,
        ),
    )
    news = LeadDeliveredData(lead_id=lead.lead_id, partner_id=row.partner_id, delivered_at=sent_at)
    await notices.notify(session, lead.source_partner_id, news, lead_id=lead.lead_id)


async def _failed(session: AsyncSession, row: _State, error: str, delay: float | None) -> None:
    """Try again after ``delay`` seconds, or give up when there is none."""
    row.last_error = error[:1000]
    if delay is not None:
        row.next_attempt_at = utcnow() + timedelta(seconds=delay)
        return
    row.status, row.next_attempt_at, row.failed_at = "failed", None, utcnow()
    if row.kind != "offer" or row.lead_id is None:  # a withdrawal or a test: nothing to tell
        return
    await outbox.add(
        session,
        LeadDeliveryFailed(
            lead_id=row.lead_id,
            delivery_id=row.id,
            target_partner_id=row.partner_id,
            attempts=row.attempt_count,
            last_error=row.last_error,
        ),
    )


async def next_attempt_time(session: AsyncSession, after: datetime) -> datetime | None:
    """When the earliest pending delivery due later than ``after`` is due (None if there is
    none): what was due by then, the last claim looked at."""
    return await repository.next_attempt_time(session, after)
