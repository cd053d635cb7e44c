"""The bodies of the ``lead.offered`` and ``lead.withdrawn`` webhooks (API.md). Pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from crosslead_common.events import LeadReceived

__all__ = [
    "OFFER_TYPE",
    "WITHDRAWAL_TYPE",
    "offer_body",
    "offer_data",
    "rfc3339",
    "withdrawal_body",
]

OFFER_TYPE = "lead.offered"
WITHDRAWAL_TYPE = "lead.withdrawn"


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def offer_data(lead: LeadReceived) -> dict[str, Any]:
    """What the target partner learns about the lead (everything but its deadline)."""
    return {
        "lead_id": lead.lead_id,
        "need": lead.need,
        "region": lead.region,
        "customer": lead.customer.model_dump(mode="json"),
        "warmth": lead.warmth.model_dump(mode="json"),
        "source_partner": {"id": lead.source_partner_id, "name": lead.source_partner_name},
        "manager": lead.manager.model_dump(mode="json"),
    }


def _body(kind: str, data: dict[str, Any], now: datetime) -> str:
    """The exact JSON text sent (and signed) on every attempt of one delivery."""
    body = {"type": kind, "timestamp": rfc3339(now), "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def offer_body(data: dict[str, Any], *, accept_by: datetime, now: datetime) -> str:
    return _body(OFFER_TYPE, {**data, "accept_by": rfc3339(accept_by)}, now)


def withdrawal_body(lead_id: str, *, reason: str, now: datetime) -> str:
    """Tells a partner that an offer it had is no longer open (``reason``: ``expired``)."""
    return _body(WITHDRAWAL_TYPE, {"lead_id": lead_id, "reason": reason}, now)
