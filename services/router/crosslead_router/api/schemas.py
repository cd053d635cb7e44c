"""HTTP request and response bodies of the router API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crosslead_common.events import Exclusion, ScoredCandidate
from crosslead_common.schemas import RequestBody

__all__ = [
    "AttemptOut",
    "DecisionList",
    "DecisionOut",
    "DeliveryList",
    "DeliveryOut",
    "EndpointIn",
    "EndpointList",
    "EndpointOut",
]


class EndpointIn(RequestBody):
    url: str = Field(min_length=1, max_length=2000, examples=["https://crm.example.com/hooks"])
    description: str | None = Field(None, max_length=500)


class EndpointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    url: str
    description: str | None
    #: Standard Webhooks signing secret (``whsec_...``) to verify the offers with.
    secret: str
    created_at: datetime


class EndpointList(BaseModel):
    items: list[EndpointOut]


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    url: str | None
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: str
    lead_id: str
    partner_id: str
    #: offer (``lead.offered``) | withdrawal (``lead.withdrawn``)
    kind: str
    webhook_id: str
    #: pending | delivered | failed | cancelled
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    attempts: list[AttemptOut]


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


class DecisionOut(BaseModel):
    hop: int
    at: datetime
    outcome: Literal["routed", "waiting", "unroutable"]
    chosen_partner_id: str | None
    #: Best first; ``factors`` are each in [0, 1] and ``score`` is their weighted sum.
    candidates: list[ScoredCandidate]
    excluded: list[Exclusion]


class DecisionList(BaseModel):
    lead_id: str
    decisions: list[DecisionOut]
