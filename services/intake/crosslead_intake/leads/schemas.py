"""HTTP bodies of ``/v1/leads``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from crosslead_common.schemas import RequestBody
from crosslead_intake.fields import Category, Name, Region, Text


class CustomerIn(RequestBody):
    name: Name
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()./-]{5,30}$")] | None = None
    email: (
        Annotated[str, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")]
        | None
    ) = None

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
    need: Category
    region: Region
    customer: CustomerIn
    consent: ConsentIn
    warmth: WarmthIn
    manager: ManagerIn
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class LeadAccepted(BaseModel):
    id: str
    status: str


class LeadSubmitted(LeadAccepted):
    duplicate_of: str | None = Field(
        default=None,
        description="Only for a `duplicate` of one of the caller's own leads: that earlier "
        "lead of this customer.",
    )


class TimelineEntryOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    at: datetime


class LeadOut(BaseModel):
    id: str
    status: str
    need: str
    region: str
    source_partner_id: str
    target_partner_id: str | None
    duplicate_of: str | None
    external_id: str | None
    created_at: datetime
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
    reason: Annotated[str, StringConstraints(max_length=1000)] | None = None
