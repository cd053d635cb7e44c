"""HTTP bodies of ``/v1/leads``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from crosslead_common.schemas import RequestBody
from crosslead_intake.fields import Category, Email, Name, Phone, Region, Text
from crosslead_intake.lifecycle import LeadStatus, TimelineType


class CustomerIn(RequestBody):
    name: Name
    phone: Phone | None = None
    email: Email | None = None

    @model_validator(mode="after")
    def _reachable(self) -> CustomerIn:
        if self.phone is None and self.email is None:
            raise ValueError("a warmed-up customer needs a phone or an email")
        return self


class ConsentIn(RequestBody):
    given_at: datetime
    text: Text
    #: The categories the customer agreed to be passed to; absent: the lead's need only.
    categories: list[Category] | None = Field(default=None, min_length=1, max_length=50)


class WarmthIn(RequestBody):
    notes: Text
    score: int | None = Field(default=None, ge=1, le=5)


class ManagerIn(RequestBody):
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    name: Name | None = None


class LeadIn(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "need": "solar",
                    "region": "Berlin",
                    "customer": {
                        "name": "Dana Weber",
                        "phone": "+49 30 5550100",
                        "email": "dana@example.com",
                    },
                    "consent": {
                        "given_at": "2026-03-02T09:30:00Z",
                        "text": "Happy to be contacted about solar panels by a partner.",
                        "categories": ["solar", "insurance"],
                    },
                    "warmth": {"notes": "Owns the house; wants an offer in May.", "score": 4},
                    "manager": {"id": "m-17", "name": "Kai Brandt"},
                    "external_id": "crm-48213",
                }
            ]
        }
    )

    need: Category
    region: Region
    customer: CustomerIn
    consent: ConsentIn
    warmth: WarmthIn
    manager: ManagerIn
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class LeadAccepted(BaseModel):
    id: str
    status: LeadStatus


class LeadSubmitted(LeadAccepted):
    duplicate_of: str | None = Field(
        default=None,
        description="Only for a `duplicate` of one of the caller's own leads: that earlier "
        "lead of this customer.",
    )


class TimelineEntryOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: TimelineType
    at: datetime


class CustomerOut(BaseModel):
    name: str
    phone: str | None = None
    email: str | None = None


class LeadOut(BaseModel):
    id: str
    status: LeadStatus
    need: str
    region: str
    source_partner_id: str
    target_partner_id: str | None
    duplicate_of: str | None
    external_id: str | None
    created_at: datetime
    customer: CustomerOut | None = Field(
        default=None,
        description="The customer's contact: for the source, the operator, and the partner "
        "that accepted the lead (null for a partner it is only offered to, or was offered "
        "to before).",
    )
    customer_erased_at: datetime | None = Field(
        default=None,
        description="When the customer's contact was erased (`POST /v1/customers/erase`); "
        "from then on no service can read it.",
    )
    timeline: list[TimelineEntryOut]


class LeadSummaryOut(BaseModel):
    """A lead in a list: what ``GET /v1/leads/{id}`` shows the caller, without the timeline."""

    id: str
    status: str
    need: str
    region: str
    source_partner_id: str
    target_partner_id: str | None
    external_id: str | None
    created_at: datetime


class LeadStatsOut(BaseModel):
    window: str
    since: datetime
    total: int
    counts: dict[str, int] = Field(description="Leads received in the window, by status")


class RejectIn(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "Outside our area"}]})

    reason: Annotated[str, StringConstraints(max_length=1000)] | None = None
