"""The body of the ``lead.offered`` webhook (API.md). Pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from crosslead_common.events import LeadReceived

__all__ = ["OFFER_TYPE", "offer_body", "offer_data", "rfc3339"]

OFFER_TYPE = "lead.offered"


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


def offer_body(data: dict[str, Any], *, accept_by: datetime, now: datetime) -> str:
    """The exact JSON text sent (and signed) on every attempt of one delivery."""
    body = {
        "type": OFFER_TYPE,
        "timestamp": rfc3339(now),
        "data": {**data, "accept_by": rfc3339(accept_by)},
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
