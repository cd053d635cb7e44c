"""The Prometheus metrics of every service, served at ``GET /metrics``.

Label values are bounded sets (route templates, event types, outcomes, topics, partitions, a
webhook endpoint's host name): never an id, an amount or anything about a customer.
The README lists every metric.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import after_commit

__all__ = [
    "CONSUMER_LAG",
    "EVENTS_DEAD_LETTERED",
    "EVENTS_HANDLED",
    "EVENTS_PUBLISHED",
    "HTTP_DURATION",
    "HTTP_REQUESTS",
    "LEDGER_POSTINGS",
    "METRICS_CONTENT_TYPE",
    "OUTBOX_OLDEST_AGE",
    "OUTBOX_PENDING",
    "PAYOUT_RUNS",
    "ROUTING_DECISIONS",
    "WEBHOOK_ATTEMPTS",
    "WEBHOOK_DURATION",
    "count_after_commit",
    "exposition",
    "webhook_attempt",
]

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST

HTTP_REQUESTS = Counter(
    "crosslead_http_requests",
    "HTTP requests answered, by route template, method and status code.",
    ["service", "route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "crosslead_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["service", "route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CONSUMER_LAG = Gauge(
    "crosslead_consumer_lag",
    "Messages on a partition that the consumer group has not handled yet.",
    ["service", "group", "topic", "partition"],
)
OUTBOX_PENDING = Gauge(
    "crosslead_outbox_pending", "Outbox rows not yet published to Kafka.", ["service"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "crosslead_outbox_oldest_pending_age_seconds",
    "Age of the oldest outbox row not yet published (0 when none is pending).",
    ["service"],
)
EVENTS_PUBLISHED = Counter(
    "crosslead_events_published",
    "Events the outbox relay published, by topic.",
    ["service", "topic"],
)
EVENTS_HANDLED = Counter(
    "crosslead_events_handled",
    "Events a consumer group handled, by type and outcome (applied, duplicate).",
    ["service", "group", "type", "outcome"],
)
EVENTS_DEAD_LETTERED = Counter(
    "crosslead_events_dead_lettered",
    "Messages a consumer group parked in a dead-letter topic, by event type "
    "(undecodable when it could not be read).",
    ["service", "group", "type"],
)
ROUTING_DECISIONS = Counter(
    "crosslead_routing_decisions",
    "Routing decisions committed, by outcome (routed, waiting, unroutable).",
    ["outcome"],
)
WEBHOOK_ATTEMPTS = Counter(
    "crosslead_webhook_attempts",
    "Webhook attempts, by outcome (delivered, http_error, network_error, no_endpoint) and the "
    "host of the endpoint's URL.",
    ["outcome", "host"],
)
WEBHOOK_DURATION = Histogram(
    "crosslead_webhook_attempt_duration_seconds",
    "Time of one webhook attempt, by outcome.",
    ["outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
LEDGER_POSTINGS = Counter(
    "crosslead_ledger_postings",
    "Balanced postings committed to the ledger, by kind (accrual, reversal, settlement).",
    ["kind"],
)
PAYOUT_RUNS = Counter("crosslead_payout_runs", "Payout runs committed, by currency.", ["currency"])


def exposition() -> bytes:
    """The text format Prometheus scrapes."""
    return generate_latest()


def count_after_commit(session: AsyncSession, increment: Callable[[], None]) -> None:
    """Count something a transaction does only once it has committed (a rolled-back routing
    decision was never made)."""
    after_commit(session, increment)


def webhook_attempt(url: str | None, status_code: int | None, seconds: float) -> None:
    """Count one webhook attempt by its outcome and the endpoint's host."""
    if url is None:
        outcome = "no_endpoint"
    elif status_code is None:
        outcome = "network_error"
    else:
        outcome = "delivered" if 200 <= status_code < 300 else "http_error"
    host = (urlsplit(url).hostname or "") if url else ""
    WEBHOOK_ATTEMPTS.labels(outcome=outcome, host=host).inc()
    WEBHOOK_DURATION.labels(outcome=outcome).observe(seconds)
