"""HTTP bodies of ``/v1/reports``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field


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
