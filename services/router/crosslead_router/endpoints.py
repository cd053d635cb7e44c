"""Use cases of webhook endpoints: register, list, change, rotate the secret, delete, send a
test event, and recover the deliveries that failed. Each runs inside the caller's transaction
and never commits. ``partner_id`` None is the operator, who may act on any partner's endpoint;
a partner asking for another partner's endpoint gets None (the route answers 404).

URLs must have passed :func:`crosslead_router.urls.check_url` before (outside the transaction:
it resolves DNS).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.db import request_wakeup, utcnow
from crosslead_common.observability.tracing import current_traceparent
from crosslead_router import repository
from crosslead_router.models import Delivery, DeliveryAttempt, WebhookEndpoint
from crosslead_router.offers import webhook_test_body
from crosslead_router.service import DELIVERIES_WAKEUP, WAITING_WAKEUP
from crosslead_router.signing import new_secret, new_webhook_id

__all__ = [
    "EndpointHealth",
    "create",
    "delete",
    "find",
    "health",
    "list_for",
    "recover",
    "rotate_secret",
    "send_test",
    "update",
]

#: The fields :func:`update` may change.
CHANGEABLE = frozenset({"url", "description", "event_types", "status"})


async def create(
    session: AsyncSession,
    partner_id: str,
    url: str,
    description: str | None,
    event_types: Sequence[str] | None = None,
) -> WebhookEndpoint:
    """Save an enabled endpoint with a fresh signing secret; ``event_types`` None: it
    receives every type."""
    endpoint = WebhookEndpoint(
        id=f"we_{uuid.uuid4().hex}",
        partner_id=partner_id,
        url=url,
        description=description,
        secret=new_secret(),
        event_types=None if event_types is None else sorted(set(event_types)),
        status="enabled",
        created_at=utcnow(),
        deleted_at=None,
    )
    await repository.add(session, endpoint)
    return endpoint


async def list_for(session: AsyncSession, partner_id: str | None) -> list[WebhookEndpoint]:
    """The partner's endpoints (every partner's for the operator), newest first."""
    return list(await repository.endpoints(session, partner_id))


async def find(
    session: AsyncSession, partner_id: str | None, endpoint_id: str, *, for_update: bool = False
) -> WebhookEndpoint | None:
    """One endpoint that is not deleted, if the caller may see it."""
    endpoint = await repository.endpoint(session, endpoint_id, for_update=for_update)
    if endpoint is None or partner_id not in (None, endpoint.partner_id):
        return None
    return endpoint


async def update(
    session: AsyncSession, partner_id: str | None, endpoint_id: str, changes: dict[str, object]
) -> WebhookEndpoint | None:
    """Apply ``changes`` (a subset of :data:`CHANGEABLE`). Disabling one by hand records the
    reason ``manual``; enabling one clears its failure history, and leads waiting for a
    partner with an enabled endpoint are looked at again at once."""
    endpoint = await find(session, partner_id, endpoint_id, for_update=True)
    if endpoint is None:
        return None
    assert set(changes) <= CHANGEABLE
    if "url" in changes:
        endpoint.url = str(changes["url"])
    if "description" in changes:
        endpoint.description = (
            None if changes["description"] is None else str(changes["description"])
        )
    if "event_types" in changes:
        types = changes["event_types"]
        assert types is None or isinstance(types, list | tuple)
        endpoint.event_types = None if types is None else sorted({str(t) for t in types})
    status = changes.get("status")
    if status == "disabled" and endpoint.status != "disabled":
        endpoint.status, endpoint.disabled_reason = "disabled", "manual"
    elif status == "enabled" and endpoint.status != "enabled":
        endpoint.status, endpoint.disabled_reason, endpoint.failing_since = "enabled", None, None
    await repository.recheck_waiting_now(session, utcnow())
    request_wakeup(session, WAITING_WAKEUP)
    request_wakeup(session, DELIVERIES_WAKEUP)
    return endpoint


async def delete(session: AsyncSession, partner_id: str | None, endpoint_id: str) -> bool:
    """Stop sending to the endpoint; False if the caller has no such endpoint."""
    endpoint = await find(session, partner_id, endpoint_id, for_update=True)
    if endpoint is None:
        return False
    endpoint.deleted_at = utcnow()
    return True


async def rotate_secret(
    session: AsyncSession, partner_id: str | None, endpoint_id: str, previous_valid_for: timedelta
) -> WebhookEndpoint | None:
    """Give the endpoint a new secret; for ``previous_valid_for`` every webhook to it is
    signed with the old one too, so a receiver can switch without losing one."""
    endpoint = await find(session, partner_id, endpoint_id, for_update=True)
    if endpoint is None:
        return None
    now = utcnow()
    endpoint.previous_secret, endpoint.secret = endpoint.secret, new_secret()
    endpoint.previous_secret_until = now + previous_valid_for
    return endpoint


async def send_test(
    session: AsyncSession, partner_id: str | None, endpoint_id: str
) -> Delivery | None:
    """Queue a signed ``webhook.test`` to this endpoint (disabled or not), retried like any
    webhook; the dispatcher is woken on commit."""
    endpoint = await find(session, partner_id, endpoint_id)
    if endpoint is None:
        return None
    now = utcnow()
    row = Delivery(
        id=f"dlv_{uuid.uuid4().hex}",
        lead_id=None,
        partner_id=endpoint.partner_id,
        endpoint_id=endpoint.id,
        kind="test",
        webhook_id=new_webhook_id(),
        body=webhook_test_body(endpoint.id, now=now),
        status="pending",
        attempt_count=0,
        next_attempt_at=now,
        created_at=now,
        traceparent=current_traceparent(),
    )
    await repository.add(session, row)
    request_wakeup(session, DELIVERIES_WAKEUP)
    return row


async def recover(
    session: AsyncSession, partner_id: str | None, endpoint_id: str, since: datetime
) -> int | None:
    """Attempt again, now and under their own webhook ids, every delivery to the endpoint that
    was given up (``failed``) since ``since``; returns how many (None: no such endpoint)."""
    endpoint = await find(session, partner_id, endpoint_id)
    if endpoint is None:
        return None
    count = await repository.reschedule_failed(session, endpoint.id, since, utcnow())
    if count:
        request_wakeup(session, DELIVERIES_WAKEUP)
    return count


@dataclass(frozen=True)
class EndpointHealth:
    """An endpoint and how its attempts went since a time."""

    endpoint: WebhookEndpoint
    attempts: int
    failed_attempts: int
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_failure: DeliveryAttempt | None
    pending_deliveries: int
    failed_deliveries: int

    @property
    def unhealthy(self) -> bool:
        """Disabled, failing (its latest attempts failed), or with a failed attempt."""
        return (
            self.endpoint.status != "enabled"
            or self.endpoint.failing_since is not None
            or self.failed_attempts > 0
        )


async def health(
    session: AsyncSession, partner_id: str | None, since: datetime, *, unhealthy_only: bool
) -> list[EndpointHealth]:
    """The partner's endpoints (everyone's for the operator) with their attempts since
    ``since`` and their open deliveries: those with the most failed attempts first (then
    newest first); with ``unhealthy_only`` only those :attr:`EndpointHealth.unhealthy`."""
    found = await repository.endpoints(session, partner_id)
    ids = [e.id for e in found]
    stats = await repository.attempt_stats(session, ids, since)
    failures = await repository.last_failures(session, ids, since)
    open_counts = await repository.open_delivery_counts(session, ids)
    items = []
    for endpoint in found:
        attempts, failed, last_at, success_at = stats.get(endpoint.id, (0, 0, None, None))
        item = EndpointHealth(
            endpoint=endpoint,
            attempts=attempts,
            failed_attempts=failed,
            last_attempt_at=last_at,
            last_success_at=success_at,
            last_failure=failures.get(endpoint.id),
            pending_deliveries=open_counts.get((endpoint.id, "pending"), 0),
            failed_deliveries=open_counts.get((endpoint.id, "failed"), 0),
        )
        if item.unhealthy or not unhealthy_only:
            items.append(item)
    # sorted() is stable: among equals the newest endpoint stays first.
    return sorted(items, key=lambda i: -i.failed_attempts)
