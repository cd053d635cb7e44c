"""HTTP request and response bodies of the router API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from crosslead_common.events import ScoredCandidate
from crosslead_common.schemas import RequestBody
from crosslead_router.endpoints import EndpointHealth
from crosslead_router.models import WebhookEndpoint
from crosslead_router.offers import WEBHOOK_TYPES

__all__ = [
    "AttemptOut",
    "DecisionList",
    "DecisionOut",
    "DeliveryList",
    "DeliveryOut",
    "EndpointCreated",
    "EndpointHealthList",
    "EndpointHealthOut",
    "EndpointIn",
    "EndpointList",
    "EndpointOut",
    "EndpointPatch",
    "ExcludedOut",
    "ExclusionCode",
    "RecoverIn",
    "Recovered",
    "RotateIn",
    "SecretOut",
    "TestSent",
]


RECOVER_WINDOW = timedelta(days=14)


def _known_types(types: list[str] | None) -> list[str] | None:
    unknown = sorted(set(types or ()) - WEBHOOK_TYPES)
    if unknown:
        raise ValueError(f"unknown webhook types {unknown}; known: {sorted(WEBHOOK_TYPES)}")
    return types


EventTypes = Annotated[
    list[str] | None,
    Field(min_length=1, max_length=len(WEBHOOK_TYPES), examples=[["lead.offered"]]),
    AfterValidator(_known_types),
]


class EndpointIn(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://crm.example.com/hooks/crosslead",
                    "description": "CRM inbox",
                    "event_types": ["lead.offered", "lead.withdrawn"],
                }
            ]
        }
    )

    url: str = Field(min_length=1, max_length=2000, examples=["https://crm.example.com/hooks"])
    description: str | None = Field(None, max_length=500)
    #: The webhook types it receives; left out: all of them.
    event_types: EventTypes = None


class EndpointPatch(RequestBody):
    """Only the fields sent are changed; ``event_types: null`` subscribes to every type."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "disabled"}, {"event_types": None}]}
    )

    url: str | None = Field(None, min_length=1, max_length=2000)
    description: str | None = Field(None, max_length=500)
    event_types: EventTypes = None
    status: Literal["enabled", "disabled"] | None = None


class EndpointOut(BaseModel):
    """An endpoint as listed: never with its secret."""

    id: str
    url: str
    description: str | None
    #: ``disabled`` endpoints get no webhooks (a test event excepted).
    status: Literal["enabled", "disabled"]
    #: Why it is disabled: ``manual`` (by its partner or the operator) or ``failing`` (every
    #: attempt failed for ``CROSSLEAD_ROUTER_ENDPOINT_DISABLE_AFTER_SECONDS``).
    disabled_reason: Literal["manual", "failing"] | None = None
    event_types: list[str]
    created_at: datetime

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> EndpointOut:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            description=endpoint.description,
            status=endpoint.status,
            disabled_reason=endpoint.disabled_reason,
            event_types=endpoint.event_types or sorted(WEBHOOK_TYPES),
            created_at=endpoint.created_at,
        )


class EndpointCreated(EndpointOut):
    #: Standard Webhooks signing secret (``whsec_...``) to verify the webhooks with.
    secret: str


class EndpointList(BaseModel):
    items: list[EndpointOut]


class EndpointHealthOut(BaseModel):
    """An endpoint (without its secret) and how the attempts at it went in the window."""

    id: str
    partner_id: str
    url: str
    description: str | None
    status: Literal["enabled", "disabled"]
    disabled_reason: Literal["manual", "failing"] | None
    #: Since when every attempt at it has failed (None once one succeeds).
    failing_since: datetime | None
    #: Attempts at it since ``since``, and how many of them failed (no 2xx answer).
    attempts: int
    failed_attempts: int
    last_attempt_at: datetime | None
    #: The newest attempt since ``since`` that got a 2xx.
    last_success_at: datetime | None
    #: The newest failed attempt since ``since``: when, and its status code or error.
    last_failure_at: datetime | None
    last_failure_status_code: int | None
    last_failure_error: str | None
    #: Its deliveries now ``pending`` (being attempted) and ``failed`` (given up), at any age.
    pending_deliveries: int
    failed_deliveries: int

    @classmethod
    def of(cls, health: EndpointHealth) -> EndpointHealthOut:
        endpoint, failure = health.endpoint, health.last_failure
        return cls(
            id=endpoint.id,
            partner_id=endpoint.partner_id,
            url=endpoint.url,
            description=endpoint.description,
            status=endpoint.status,
            disabled_reason=endpoint.disabled_reason,
            failing_since=endpoint.failing_since,
            attempts=health.attempts,
            failed_attempts=health.failed_attempts,
            last_attempt_at=health.last_attempt_at,
            last_success_at=health.last_success_at,
            last_failure_at=failure.at if failure else None,
            last_failure_status_code=failure.status_code if failure else None,
            last_failure_error=failure.error if failure else None,
            pending_deliveries=health.pending_deliveries,
            failed_deliveries=health.failed_deliveries,
        )


class EndpointHealthList(BaseModel):
    #: The start of the window the attempts are counted in.
    since: datetime
    items: list[EndpointHealthOut]


class SecretOut(BaseModel):
    secret: str


class RotateIn(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"previous_valid_for_seconds": 3600}]}
    )

    #: How long webhooks are signed with the old secret too (at most 7 days; 0: not at all).
    previous_valid_for_seconds: int = Field(86400, ge=0, le=7 * 86400)


class RecoverIn(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"since": "2026-03-01T00:00:00Z"}]})

    #: Deliveries that failed since then are attempted again (at most 14 days back).
    since: AwareDatetime

    @field_validator("since")
    @classmethod
    def _recent(cls, since: datetime) -> datetime:
        now = datetime.now(UTC)
        if since > now:
            raise ValueError("must not be in the future")
        if since < now - RECOVER_WINDOW:
            raise ValueError(f"must be at most {RECOVER_WINDOW.days} days ago")
        return since


class TestSent(BaseModel):
    delivery_id: str


class Recovered(BaseModel):
    count: int


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    url: str | None
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: str
    #: None for a test event.
    lead_id: str | None
    partner_id: str
    #: The endpoint it was last sent to (None while it had none).
    endpoint_id: str | None
    #: offer (``lead.offered``) | withdrawal (``lead.withdrawn``) | test (``webhook.test``)
    kind: str
    webhook_id: str
    #: ``pending``: being attempted (see ``next_attempt_at``); ``delivered``: an attempt got a
    #: 2xx; ``failed``: every attempt failed (recover or retry sends it again);
    #: ``cancelled``: no longer needed (the lead was answered or expired meanwhile).
    status: Literal["pending", "delivered", "failed", "cancelled"]
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    attempts: list[AttemptOut]


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    #: Pass as ``cursor`` for the next (older) page; None on the last one.
    next_cursor: str | None


#: The reason codes of the partners a routing decision left out, in the order the router
#: checks them (``crosslead_router.matching.CHECKS``; a unit test checks they agree).
ExclusionCode = Literal[
    "disabled",
    "source",
    "need",
    "consent",
    "region",
    "already_offered",
    "no_endpoint",
    "paused",
    "schedule",
    "capacity",
]


class ExcludedOut(BaseModel):
    """A partner considered and left out, and why."""

    partner_id: str
    reason: ExclusionCode
    detail: str = ""


class DecisionOut(BaseModel):
    hop: int
    at: datetime
    outcome: Literal["routed", "waiting", "unroutable"]
    chosen_partner_id: str | None
    #: Best first; ``factors`` are each in [0, 1] and ``score`` is their weighted sum.
    candidates: list[ScoredCandidate]
    excluded: list[ExcludedOut]


class DecisionList(BaseModel):
    lead_id: str
    decisions: list[DecisionOut]
