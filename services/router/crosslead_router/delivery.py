"""Use cases of the webhook dispatcher: claim due deliveries, record what an attempt did. Each
runs inside the caller's transaction and never commits.

Rows are always locked lead first, then its deliveries, so an attempt being recorded and a
deadline being enforced for the same lead cannot deadlock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import utcnow
from crosslead_common.events import LeadDelivered, LeadDeliveryFailed
from crosslead_router import repository
from crosslead_router.models import Delivery, DeliveryAttempt, RoutedLead, WebhookEndpoint, outbox
from crosslead_router.retries import RetryPolicy

__all__ = [
    "Job",
    "Outcome",
    "claim_due",
    "next_attempt_time",
    "record_outcome",
]


@dataclass(frozen=True)
class Job:
    """One attempt to make: what to send, and where (``url`` None: no endpoint yet)."""

    delivery_id: str
    lead_id: str
    partner_id: str
    webhook_id: str
    body: str
    attempt: int
    url: str | None
    secret: str | None
    traceparent: str | None = None


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
    session: AsyncSession, *, now: datetime, limit: int, lease: timedelta
) -> list[Job]:
    """Take up to ``limit`` due deliveries. Each one's next attempt time is pushed ``lease``
    ahead, so no other dispatcher takes it while this attempt is in flight, and a dispatcher
    that dies mid-attempt only delays it by the lease."""
    jobs = []
    newest: dict[str, WebhookEndpoint | None] = {}
    for row in await repository.lock_due_deliveries(session, now, limit):
        row.next_attempt_at = now + lease
        if row.partner_id not in newest:
            endpoints = await repository.active_endpoints(session, row.partner_id)
            # Deliberately simple: an offer goes to the partner's newest active endpoint only.
            newest[row.partner_id] = endpoints[0] if endpoints else None
        endpoint = newest[row.partner_id]
        jobs.append(
            Job(
                delivery_id=row.id,
                lead_id=row.lead_id,
                partner_id=row.partner_id,
                webhook_id=row.webhook_id,
                body=row.body,
                attempt=row.attempt_count + 1,
                url=endpoint.url if endpoint else None,
                secret=endpoint.secret if endpoint else None,
                traceparent=row.traceparent,
            )
        )
    return jobs


async def record_outcome(
    session: AsyncSession, job: Job, outcome: Outcome, policy: RetryPolicy, rng: random.Random
) -> None:
    """Log the attempt; then the delivery is done (LeadDelivered), rescheduled, or given up
    (LeadDeliveryFailed). A delivery called off while the attempt was in flight stays so."""
    lead = await repository.routed_lead(session, job.lead_id, for_update=True)
    row = await repository.delivery(session, job.delivery_id, for_update=True)
    if lead is None or row is None:
        return
    await repository.add(
        session,
        DeliveryAttempt(
            delivery_id=row.id,
            at=outcome.at,
            url=outcome.url,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        ),
    )
    row.attempt_count += 1
    if row.status != "pending":
        return
    if outcome.ok:
        await _delivered(session, lead, row, outcome.at)
    else:
        delay = policy.delay_after(row.attempt_count, rng)
        await _failed(session, row, outcome.describe(), delay)


async def _delivered(
    session: AsyncSession, lead: RoutedLead, row: Delivery, sent_at: datetime
) -> None:
    row.status, row.delivered_at, row.next_attempt_at = "delivered", utcnow(), None
    row.last_error = None
    if row.kind != "offer":  # a withdrawal reached the partner: nothing more to tell
        return
    if lead.state == "routed":
        lead.state = "delivered"
    await outbox.add(
        session,
        LeadDelivered(
            lead_id=row.lead_id,
            delivery_id=row.id,
            target_partner_id=row.partner_id,
            webhook_id=row.webhook_id,
            attempts=row.attempt_count,
            sent_at=sent_at,
        ),
    )


async def _failed(session: AsyncSession, row: Delivery, error: str, delay: float | None) -> None:
    """Try again after ``delay`` seconds, or give up when there is none."""
    row.last_error = error[:1000]
    if delay is not None:
        row.next_attempt_at = utcnow() + timedelta(seconds=delay)
        return
    row.status, row.next_attempt_at = "failed", None
    if row.kind != "offer":  # a withdrawal nobody received: the deadline passed anyway
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


async def next_attempt_time(session: AsyncSession) -> datetime | None:
    """When the earliest pending delivery is due (None if there is none)."""
    return await repository.next_attempt_time(session)
