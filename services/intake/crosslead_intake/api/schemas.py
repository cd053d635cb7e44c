"""HTTP request and response bodies of the intake API (API.md)."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from crosslead_common.schemas import RequestBody

CATEGORY_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
Category = Annotated[str, StringConstraints(pattern=CATEGORY_PATTERN)]
Region = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000, strip_whitespace=True)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Rate = Annotated[Decimal, Field(gt=0, le=1, max_digits=12, allow_inf_nan=False)]
Share = Annotated[Decimal, Field(ge=0, le=1, max_digits=12, allow_inf_nan=False)]
Amount = Annotated[Decimal, Field(gt=0, max_digits=20, allow_inf_nan=False)]
CapacityPerDay = Annotated[int, Field(ge=1, le=1_000_000)]
CapacityPerHour = Annotated[int, Field(ge=1, le=100_000)]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Offers = Annotated[list[Category], Field(min_length=1, max_length=50)]
Regions = Annotated[list[Region], Field(min_length=1, max_length=200)]


class Request(RequestBody):
    pass


# --- partners --------------------------------------------------------------------------------


def _unique(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat a value")
    return values


class AvailabilityIn(Request):
    """When the partner takes leads: ISO ``weekdays`` (1 = Monday) from ``start`` to ``end``
    (exclusive) in the IANA ``timezone``."""

    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(min_length=1, max_length=7)
    start: ClockTime
    end: ClockTime

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone name") from None
        return value

    @field_validator("weekdays")
    @classmethod
    def _distinct_weekdays(cls, value: list[int]) -> list[int]:
        return sorted(_unique(value))

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: str, info: ValidationInfo) -> str:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError("must be later than start")
        return value


class PartnerSettings(Request):
    """The routing settings of a partner, as sent when it is registered."""

    offers: Offers
    regions: Regions
    capacity_per_day: CapacityPerDay | None = None
    capacity_per_hour: CapacityPerHour | None = None
    availability: AvailabilityIn | None = None
    paused: bool = False


class PartnerIn(PartnerSettings):
    name: Name


class PartnerPatch(Request):
    """Any of the routing settings; ``null`` clears an optional one."""

    offers: Offers | None = None
    regions: Regions | None = None
    capacity_per_day: CapacityPerDay | None = None
    capacity_per_hour: CapacityPerHour | None = None
    availability: AvailabilityIn | None = None
    paused: bool | None = None

    @field_validator("offers", "regions", "paused")
    @classmethod
    def _required(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be cleared")
        return value


class AvailabilityOut(BaseModel):
    timezone: str
    weekdays: list[int]
    start: str
    end: str


class PartnerOut(BaseModel):
    id: str
    name: str
    offers: list[str]
    regions: list[str]
    capacity_per_day: int | None
    capacity_per_hour: int | None
    availability: AvailabilityOut | None
    paused: bool
    created_at: datetime


class PartnerCreated(PartnerOut):
    api_key: str = Field(description="Shown once; only its hash is stored.")


# --- agreements ------------------------------------------------------------------------------


class MoneyIn(Request):
    amount: Amount
    currency: Currency


class PercentIn(Request):
    type: Literal["percent"]
    rate: Rate
    cap_per_lead: MoneyIn | None = None


class FlatIn(Request):
    type: Literal["flat"]
    amount: Amount
    currency: Currency


class TierIn(Request):
    from_amount: Annotated[Decimal, Field(ge=0, max_digits=20, allow_inf_nan=False)]
    rate: Share


class TieredIn(Request):
    """Graduated percent by the agreement's won volume in ``currency`` in the calendar month
    (UTC); the first tier starts at 0 and ``from_amount`` strictly ascends."""

    type: Literal["tiered"]
    currency: Currency
    tiers: list[TierIn] = Field(min_length=1, max_length=20)
    cap_per_lead: MoneyIn | None = None


Commission = Annotated[PercentIn | FlatIn | TieredIn, Field(discriminator="type")]


class AgreementIn(Request):
    source_partner_id: str = Field(min_length=1, max_length=64)
    target_partner_id: str = Field(min_length=1, max_length=64)
    categories: list[Category] = Field(min_length=1, max_length=50)
    commission: Commission
    manager_share: Share
    accept_within_seconds: int = Field(default=86_400, ge=1, le=30 * 86_400)
    priority: int = Field(default=0, ge=-100, le=100)
    holding_days: int = Field(default=0, ge=0, le=365)


class AgreementOut(BaseModel):
    id: str
    source_partner_id: str
    target_partner_id: str
    categories: list[str]
    commission: dict[str, Any]
    manager_share: Decimal
    accept_within_seconds: int
    priority: int
    holding_days: int
    created_at: datetime
    ended_at: datetime | None = None


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
    #: The categories the customer agreed to be passed to; absent: the lead's need only.
    categories: list[Category] | None = Field(default=None, min_length=1, max_length=50)


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


class LeadSubmitted(LeadAccepted):
    duplicate_of: str | None = Field(
        default=None, description="Only for a `duplicate`: the earlier lead of this customer."
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


# --- warm-up kit -----------------------------------------------------------------------------


class PitchCardIn(Request):
    category: Category
    headline: Name
    talking_points: list[
        Annotated[str, StringConstraints(min_length=1, max_length=1000, strip_whitespace=True)]
    ] = Field(min_length=1, max_length=10)


class PitchCardOut(BaseModel):
    id: str
    partner_id: str
    category: str
    headline: str
    talking_points: list[str]
    status: Literal["draft", "published"]
    created_at: datetime
    published_at: datetime | None


class PitchCardList(BaseModel):
    items: list[PitchCardOut]


#: The body of ``PUT /v1/complements/{category}``: the needs to suggest beside it, in order.
ComplementsIn = Annotated[list[Category], Field(max_length=50)]


class ComplementsOut(BaseModel):
    category: str
    complements: list[str]


class CrossSellSuggestion(BaseModel):
    need: str
    pitch_cards: list[PitchCardOut]


class CrossSellOut(BaseModel):
    category: str
    suggestions: list[CrossSellSuggestion]


# --- partner health report -------------------------------------------------------------------


class FlowOut(BaseModel):
    """Leads one partner sent the other in the window (by when the lead was submitted)."""

    sent: int = Field(description="Leads offered to the receiving partner.")
    accepted: int
    converted: int = Field(description="Accepted leads with a won deal.")
    acceptance_rate: Decimal | None = Field(description="accepted / sent; null when none sent.")
    conversion_rate: Decimal | None = Field(description="converted / sent; null when none sent.")


class PairOut(BaseModel):
    """An unordered pair of partners (``partner_a < partner_b``) and its flows both ways."""

    partner_a: str
    partner_b: str
    a_to_b: FlowOut
    b_to_a: FlowOut
    volume_ratio: Decimal | None = Field(
        description="Larger sent / smaller sent; null when one side sent nothing."
    )
    imbalanced: bool = Field(description="One side sends more than 3 times what it receives.")


class PartnerHealthOut(BaseModel):
    partner_id: str
    won_deals: int = Field(description="Leads it won a deal on, from any source.")
    top_source_partner_id: str | None
    top_source_deals: int
    agent_like: bool = Field(description="More than half its won deals came from one source.")


class ReportWindowOut(BaseModel):
    window_days: int
    since: datetime
    pairs: list[PairOut]
    partners: list[PartnerHealthOut]


class PartnerReportOut(BaseModel):
    windows: list[ReportWindowOut]
