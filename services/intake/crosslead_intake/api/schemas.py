"""HTTP request and response bodies of the intake API (API.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from crosslead_common.schemas import RequestBody

Category = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Region = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000, strip_whitespace=True)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Rate = Annotated[Decimal, Field(gt=0, le=1, max_digits=12, allow_inf_nan=False)]
Share = Annotated[Decimal, Field(ge=0, le=1, max_digits=12, allow_inf_nan=False)]
Amount = Annotated[Decimal, Field(gt=0, max_digits=20, allow_inf_nan=False)]


class Request(RequestBody):
    pass


# --- partners --------------------------------------------------------------------------------


class PartnerIn(Request):
    name: Name
    offers: list[Category] = Field(min_length=1, max_length=50)
    regions: list[Region] = Field(min_length=1, max_length=200)
    capacity_per_day: int | None = Field(default=None, ge=1, le=1_000_000)


class PartnerOut(BaseModel):
    id: str
    name: str
    offers: list[str]
    regions: list[str]
    capacity_per_day: int | None
    created_at: datetime


class PartnerCreated(PartnerOut):
    api_key: str = Field(description="Shown once; only its hash is stored.")


# --- agreements ------------------------------------------------------------------------------


class PercentIn(Request):
    type: Literal["percent"]
    rate: Rate


class FlatIn(Request):
    type: Literal["flat"]
    amount: Amount
    currency: Currency


class AgreementIn(Request):
    source_partner_id: str = Field(min_length=1, max_length=64)
    target_partner_id: str = Field(min_length=1, max_length=64)
    categories: list[Category] = Field(min_length=1, max_length=50)
    commission: Annotated[PercentIn | FlatIn, Field(discriminator="type")]
    manager_share: Share
    accept_within_seconds: int = Field(default=86_400, ge=1, le=30 * 86_400)


class AgreementOut(BaseModel):
    id: str
    source_partner_id: str
    target_partner_id: str
    categories: list[str]
    commission: dict[str, Any]
    manager_share: Decimal
    accept_within_seconds: int
    created_at: datetime


# --- leads -----------------------------------------------------------------------------------


class CustomerIn(Request):
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


class ConsentIn(Request):
    given_at: datetime
    text: Text


class WarmthIn(Request):
    notes: Text
    score: int | None = Field(default=None, ge=1, le=5)


class ManagerIn(Request):
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    name: Name | None = None


class LeadIn(Request):
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
    external_id: str | None
    created_at: datetime
    timeline: list[TimelineEntryOut]


class RejectIn(Request):
    reason: Annotated[str, StringConstraints(max_length=1000)] | None = None


# --- conversions -----------------------------------------------------------------------------


class ConversionIn(Request):
    lead_id: str = Field(min_length=1, max_length=64)
    external_id: str = Field(min_length=1, max_length=200)
    status: Literal["won", "refunded"]
    amount: Amount
    currency: Currency


class ConversionAccepted(BaseModel):
    id: str
