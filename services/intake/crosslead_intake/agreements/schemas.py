"""HTTP bodies of ``/v1/agreements``; the commission terms are the shared models of
``crosslead_common.terms``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from crosslead_common.events import ShareContact
from crosslead_common.schemas import RequestBody
from crosslead_common.terms import CommissionTerms
from crosslead_intake.fields import Category, Share


class AgreementIn(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "source_partner_id": "p_0f8e1c",
                    "target_partner_id": "p_7a21d4",
                    "categories": ["solar"],
                    "commission": {"type": "percent", "rate": "0.10"},
                    "manager_share": "0.20",
                    "accept_within_seconds": 86400,
                    "priority": 0,
                    "holding_days": 14,
                }
            ]
        }
    )

    source_partner_id: str = Field(min_length=1, max_length=64)
    target_partner_id: str = Field(min_length=1, max_length=64)
    categories: list[Category] = Field(min_length=1, max_length=50)
    commission: CommissionTerms
    manager_share: Share
    accept_within_seconds: int = Field(default=86_400, ge=1, le=30 * 86_400)
    priority: int = Field(default=0, ge=-100, le=100)
    holding_days: int = Field(default=0, ge=0, le=365)
    #: ``on_offer``: the offer carries the customer's contact; ``on_accept``: only the partner
    #: that accepted learns it.
    share_contact: ShareContact = "on_accept"


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
    share_contact: ShareContact
    created_at: datetime
    ended_at: datetime | None = None
