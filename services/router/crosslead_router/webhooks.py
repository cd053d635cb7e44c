"""The ``data`` of every webhook type the router sends (API.md), one frozen model per type,
and their place in the router's OpenAPI ``webhooks`` section. Pure."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Generic, Literal, TypeVar

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from crosslead_common.events import Customer, Manager, Warmth

__all__ = [
    "DATA_MODELS",
    "CommissionData",
    "CommissionReversedData",
    "LeadAcceptedData",
    "LeadContactData",
    "LeadConvertedData",
    "LeadDeliveredData",
    "LeadOfferedData",
    "LeadRejectedData",
    "LeadUnroutableData",
    "LeadWithdrawnData",
    "PayoutSettledData",
    "SealedLeadContactData",
    "WebhookData",
    "WebhookTestData",
    "document",
]


class WebhookData(BaseModel):
    """Base of every webhook's ``data``; ``webhook_type`` names the type it is sent as."""

    model_config = ConfigDict(frozen=True)
    webhook_type: ClassVar[str]


class PartnerRef(BaseModel):
    id: str
    name: str


class LeadOfferedData(WebhookData):
    """To the target: a lead it may accept until ``accept_by``. ``customer`` only when the
    agreement shares the contact ``on_offer``; otherwise the target receives it by
    ``lead.contact`` once it accepted."""

    webhook_type: ClassVar[str] = "lead.offered"
    lead_id: str
    need: str
    region: str
    customer: Customer | None = None
    warmth: Warmth
    source_partner: PartnerRef
    manager: Manager
    accept_by: datetime


class LeadContactData(WebhookData):
    """To the target that accepted the lead: the customer's contact."""

    webhook_type: ClassVar[str] = "lead.contact"
    lead_id: str
    customer: Customer


class SealedLeadContactData(WebhookData):
    """A :class:`LeadContactData` as queued: the customer still sealed (``{"sealed": ...}``),
    opened by the dispatcher when it sends, and left out once the customer is erased."""

    webhook_type: ClassVar[str] = LeadContactData.webhook_type
    lead_id: str
    customer: dict[str, str]


class LeadWithdrawnData(WebhookData):
    """To the target: an offer it had is no longer open (``reason``: ``expired``)."""

    webhook_type: ClassVar[str] = "lead.withdrawn"
    lead_id: str
    reason: str


class WebhookTestData(WebhookData):
    """To anyone: sent by ``POST /v1/webhook-endpoints/{id}/test``."""

    webhook_type: ClassVar[str] = "webhook.test"
    endpoint_id: str


class LeadDeliveredData(WebhookData):
    """To the source: its lead reached the partner it was offered to."""

    webhook_type: ClassVar[str] = "lead.delivered"
    lead_id: str
    partner_id: str
    delivered_at: datetime


class LeadAcceptedData(WebhookData):
    """To the source: the partner accepted its lead."""

    webhook_type: ClassVar[str] = "lead.accepted"
    lead_id: str
    partner_id: str


class LeadRejectedData(WebhookData):
    """To the source: the partner turned its lead down (it goes to the next one)."""

    webhook_type: ClassVar[str] = "lead.rejected"
    lead_id: str
    partner_id: str
    reason: str | None = None


class LeadUnroutableData(WebhookData):
    """To the source: no partner can take its lead."""

    webhook_type: ClassVar[str] = "lead.unroutable"
    lead_id: str
    reason: str


class LeadConvertedData(WebhookData):
    """To the source: the partner reported a deal on its lead (``won``) or a refund of one."""

    webhook_type: ClassVar[str] = "lead.converted"
    lead_id: str
    partner_id: str
    conversion_id: str
    status: Literal["won", "refunded"]
    amount: Decimal
    currency: str


class CommissionData(WebhookData):
    """To the source (and, when accrued, to the target that reported the deal): commission on
    a lead was accrued or (on a refund) reversed."""

    webhook_type: ClassVar[str] = "commission.accrued"
    lead_id: str
    conversion_id: str
    source_partner_id: str
    target_partner_id: str
    commission: Decimal
    currency: str


class CommissionReversedData(CommissionData):
    webhook_type: ClassVar[str] = "commission.reversed"


class PayoutSettledData(WebhookData):
    """To the source: a payout run settled the commission on its lead."""

    webhook_type: ClassVar[str] = "payout.settled"
    lead_id: str
    payout_run_id: str
    commission: Decimal
    currency: str


DATA_MODELS: dict[str, type[WebhookData]] = {
    model.webhook_type: model
    for model in (
        LeadOfferedData,
        LeadContactData,
        LeadWithdrawnData,
        WebhookTestData,
        LeadDeliveredData,
        LeadAcceptedData,
        LeadRejectedData,
        LeadUnroutableData,
        LeadConvertedData,
        CommissionData,
        CommissionReversedData,
        PayoutSettledData,
    )
}

D = TypeVar("D", bound=WebhookData)


class Webhook(BaseModel, Generic[D]):
    """The body of every webhook: its type, when it was made, and the type's data."""

    type: str
    timestamp: datetime
    data: D


def document(app: FastAPI) -> None:
    """List every webhook type with its body schema in ``app``'s OpenAPI ``webhooks``."""
    for kind, model in DATA_MODELS.items():
        app.webhooks.add_api_route(
            kind,
            _receiver(Webhook[model]),  # type: ignore[valid-type]
            methods=["POST"],
            operation_id="on_" + kind.replace(".", "_"),
            summary=kind,
            description=inspect.getdoc(model) or kind,
            status_code=204,
        )


def _receiver(model: type[BaseModel]) -> Callable[..., Any]:
    async def receive(body: Any) -> None:
        """Answer any 2xx once the signature is verified; anything else is retried."""

    receive.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=model)]
    )
    return receive
