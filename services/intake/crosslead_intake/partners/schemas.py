"""HTTP bodies of ``/v1/partners``."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from crosslead_common.schemas import RequestBody
from crosslead_intake.fields import Category, Name, Region

CapacityPerDay = Annotated[int, Field(ge=1, le=1_000_000)]
CapacityPerHour = Annotated[int, Field(ge=1, le=100_000)]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Offers = Annotated[list[Category], Field(min_length=1, max_length=50)]
Regions = Annotated[list[Region], Field(min_length=1, max_length=200)]


def _numbering_plan(value: str) -> str:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("not an ISO 3166-1 alpha-2 country with a telephone numbering plan")
    return value


#: Where the partner's customers' local phone numbers are placed (``DE``: ``030 …`` is Berlin).
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$"), AfterValidator(_numbering_plan)]


def _unique(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat a value")
    return values


class AvailabilityIn(RequestBody):
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


class PartnerSettings(RequestBody):
    """The routing settings of a partner, as sent when it is registered."""

    offers: Offers
    regions: Regions
    capacity_per_day: CapacityPerDay | None = None
    capacity_per_hour: CapacityPerHour | None = None
    availability: AvailabilityIn | None = None
    paused: bool = False
    country: Country | None = None


class PartnerIn(PartnerSettings):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Sunny Roofs GmbH",
                    "offers": ["solar"],
                    "regions": ["Berlin", "Brandenburg"],
                    "capacity_per_day": 20,
                    "capacity_per_hour": 5,
                    "availability": {
                        "timezone": "Europe/Berlin",
                        "weekdays": [1, 2, 3, 4, 5],
                        "start": "08:00",
                        "end": "18:00",
                    },
                    "country": "DE",
                }
            ]
        }
    )
    name: Name


class PartnerPatch(RequestBody):
    """Any of the routing settings; ``null`` clears an optional one."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"capacity_per_day": 40, "paused": False}]}
    )

    offers: Offers | None = None
    regions: Regions | None = None
    capacity_per_day: CapacityPerDay | None = None
    capacity_per_hour: CapacityPerHour | None = None
    availability: AvailabilityIn | None = None
    paused: bool | None = None
    country: Country | None = None
    #: The operator's only: ``disabled`` refuses the partner's keys everywhere and makes it
    #: no routing candidate; ``active`` lets it back.
    status: Literal["active", "disabled"] | None = None

    @field_validator("offers", "regions", "paused", "status")
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
    country: str | None
    status: str
    created_at: datetime


class PartnerCreated(PartnerOut):
    api_key: str = Field(description="Shown once; only its hash is stored.")


#: The longest a replaced key may keep working after a rotation (7 days), and the default.
MAX_OVERLAP_SECONDS = 7 * 24 * 3600
DEFAULT_OVERLAP_SECONDS = 24 * 3600


class ApiKeyRotation(RequestBody):
    """A new API key; the partner's other keys keep working ``previous_valid_for_seconds``
    longer (0: they stop at once)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"previous_valid_for_seconds": 3600}]}
    )

    previous_valid_for_seconds: int = Field(DEFAULT_OVERLAP_SECONDS, ge=0, le=MAX_OVERLAP_SECONDS)


class ApiKeyOut(BaseModel):
    id: str
    created_at: datetime
    #: When it stops (or stopped) working; ``None``: until revoked.
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]


class ApiKeyCreated(BaseModel):
    id: str
    api_key: str = Field(description="Shown once; only its hash is stored.")
    created_at: datetime
