"""The bodies of the ``lead.offered``, ``lead.withdrawn`` and ``webhook.test`` webhooks
(API.md), and which of them carries the customer's contact. Pure.

An offer is blind by default: the target learns the need, region, warmth, manager and
deadline, and the customer only once it accepted (the ``lead.contact`` webhook), unless the
agreement it is offered under shares the contact ``on_offer``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from crosslead_common.events import LeadReceived, ShareContact

__all__ = [
    "CONTACT_TYPE",
    "OFFER_TYPE",
    "TEST_TYPE",
    "TYPE_OF_KIND",
    "WEBHOOK_TYPES",
    "WITHDRAWAL_TYPE",
    "contact_of",
    "offer_body",
    "offer_data",
    "offered_data",
    "rfc3339",
    "webhook_body",
    "webhook_test_body",
    "webhook_type_of",
    "withdrawal_body",
]

OFFER_TYPE = "lead.offered"
WITHDRAWAL_TYPE = "lead.withdrawn"
TEST_TYPE = "webhook.test"
CONTACT_TYPE = "lead.contact"
#: The webhook type each kind of delivery sends.
TYPE_OF_KIND = {"offer": OFFER_TYPE, "withdrawal": WITHDRAWAL_TYPE, "test": TEST_TYPE}
#: Every webhook type an endpoint may subscribe to (API.md).
WEBHOOK_TYPES = frozenset(
    {
        *TYPE_OF_KIND.values(),
        CONTACT_TYPE,
        "lead.delivered",
        "lead.accepted",
        "lead.rejected",
        "lead.unroutable",
        "lead.converted",
        "commission.accrued",
        "commission.reversed",
        "payout.settled",
    }
)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def offer_data(lead: LeadReceived) -> dict[str, Any]:
    """What the target partner may learn about the lead (everything but its deadline), kept
    while the lead is routed; the customer in it goes out only as :func:`offered_data` and
    :func:`contact_of` say. The customer stays sealed (``{"sealed": ...}``) until a webhook
    is sent: the dispatcher opens it then with the router's copy of its data key
    (``CustomerVault.reveal``), and leaves it out once the customer is erased."""
    return {
        "lead_id": lead.lead_id,
        "need": lead.need,
        "region": lead.region,
        "customer": {"sealed": lead.customer.sealed},
        "warmth": lead.warmth.model_dump(mode="json"),
        "source_partner": {"id": lead.source_partner_id, "name": lead.source_partner_name},
        "manager": lead.manager.model_dump(mode="json"),
    }


def contact_of(data: dict[str, Any]) -> dict[str, Any] | None:
    """The customer's contact (``name``, ``phone``, ``email``) kept in ``data``, the lead's
    :func:`offer_data`; None if it holds none."""
    customer = data.get("customer")
    return dict(customer) if isinstance(customer, dict) else None


def offered_data(data: dict[str, Any], share_contact: ShareContact) -> dict[str, Any]:
    """The ``lead.offered`` data of the lead's :func:`offer_data` under an agreement that
    shares the contact ``share_contact``: without the customer unless ``on_offer``."""
    offered = {k: v for k, v in data.items() if k != "customer"}
    if share_contact == "on_offer":
        offered["customer"] = contact_of(data)
    return offered


def webhook_type_of(kind: str) -> str:
    """The webhook type a delivery of ``kind`` sends (a notice's kind is its type)."""
    return TYPE_OF_KIND.get(kind, kind)


def webhook_body(kind: str, data: dict[str, Any], now: datetime) -> str:
    """The exact JSON text sent (and signed) on every attempt of one delivery."""
    body = {"type": kind, "timestamp": rfc3339(now), "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def offer_body(data: dict[str, Any], *, accept_by: datetime, now: datetime) -> str:
    return webhook_body(OFFER_TYPE, {**data, "accept_by": rfc3339(accept_by)}, now)


def withdrawal_body(lead_id: str, *, reason: str, now: datetime) -> str:
    """Tells a partner that an offer it had is no longer open (``reason``: ``expired``)."""
    return webhook_body(WITHDRAWAL_TYPE, {"lead_id": lead_id, "reason": reason}, now)


def webhook_test_body(endpoint_id: str, *, now: datetime) -> str:
    """A ``webhook.test`` a partner sends itself to check its receiver."""
    return webhook_body(TEST_TYPE, {"endpoint_id": endpoint_id}, now)
