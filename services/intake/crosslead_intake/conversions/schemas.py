"""HTTP bodies of ``/v1/conversions``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crosslead_common.schemas import RequestBody
from crosslead_intake.fields import Amount, Currency


class ConversionIn(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "lead_id": "ld_3b9f0e",
                    "external_id": "deal-2291",
                    "status": "won",
                    "amount": "12000.00",
                    "currency": "EUR",
                }
            ]
        }
    )

    lead_id: str = Field(min_length=1, max_length=64)
    external_id: str = Field(min_length=1, max_length=200)
    status: Literal["won", "refunded"]
    amount: Amount
    currency: Currency


class ConversionAccepted(BaseModel):
    id: str
