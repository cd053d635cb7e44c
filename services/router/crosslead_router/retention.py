"""The router's retention rule: webhook deliveries that ended long ago go, with their body (an
offer's customer data) and their attempts.

A delivery ended when it was ``delivered`` (``delivered_at``), ``cancelled`` (counted from
``created_at``: a cancelled delivery records no end) or given up as ``failed``
(``failed_at``). A failed one can still be recovered (``POST .../recover``) for
:data:`~crosslead_router.api.schemas.RECOVER_WINDOW`, so it is kept at least that long
whatever the setting says; a ``pending`` one is never pruned.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.retention import Prune
from crosslead_router.api.schemas import RECOVER_WINDOW
from crosslead_router.models import Delivery, DeliveryAttempt

__all__ = ["deliveries_rule"]


def deliveries_rule(kept: timedelta) -> Prune:
    """Deliveries (and their attempts) that ended more than ``kept`` ago; failed ones not
    before their recover window is over too."""
    failed_kept = max(kept, RECOVER_WINDOW)

    async def prune(session: AsyncSession, now: datetime, limit: int) -> int:
        ended = or_(
            and_(Delivery.status == "delivered", Delivery.delivered_at < now - kept),
            and_(Delivery.status == "cancelled", Delivery.created_at < now - kept),
            and_(Delivery.status == "failed", Delivery.failed_at < now - failed_kept),
        )
        query = select(Delivery.id).where(ended).limit(limit)
        # Locked, so a recovery of one of them waits for this batch (or this skips it).
        ids = list(await session.scalars(query.with_for_update(skip_locked=True)))
        if not ids:
            return 0
        await session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(ids)))
        # Deleted again only if still ended: a failed one recovered meanwhile stays.
        await session.execute(delete(Delivery).where(Delivery.id.in_(ids), ended))
        return len(ids)

    return prune
