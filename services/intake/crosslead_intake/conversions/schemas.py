"""HTTP bodies of ``/v1/conversions``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from crosslead_common.schemas import RequestBody
from crosslead_intake.fields import Amount, Currency


class ConversionIn(RequestBody):
    lead_id: str = Field(min_length=1, max_length=64)
    external_id: str = Field(min_length=1, max_length=200)
    status: Literal["won", "refunded"]
    amount: Amount
    currency: Currency


class ConversionAccepted(BaseModel):
    id: str
