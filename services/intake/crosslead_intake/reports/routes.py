"""``/v1/reports/partners``: reciprocity and health of partner pairs."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from crosslead_common.api.deps import Caller, ReadSession
from crosslead_common.db import utcnow
from crosslead_common.domain import InvalidField
from crosslead_intake.reports import service
from crosslead_intake.reports.schemas import PartnerReportOut, ReportWindowOut

router = APIRouter(prefix="/v1/reports", tags=["reports"])

WINDOWS = (30, 90)


@router.get("/partners", response_model=PartnerReportOut)
async def get_partner_report(
    principal: Caller,
    session: ReadSession,
    window_days: Annotated[int | None, Query(description="30 or 90; both when absent")] = None,
) -> PartnerReportOut:
    """Per unordered pair of partners (a partner: the pairs it is in; the operator: all), the
    leads each side sent the other, how many were accepted and converted, and whether the pair
    is imbalanced (more than 3:1); per partner, whether it is agent-like (more than half of
    its won deals from one source). Leads count in a window by when they were submitted."""
    if window_days is not None and window_days not in WINDOWS:
        raise InvalidField("window_days", "must be 30 or 90")
    now = utcnow()
    windows = [
        await service.partner_report(
            session, days=days, since=now - timedelta(days=days), partner_id=principal.partner_id
        )
        for days in ([window_days] if window_days else WINDOWS)
    ]
    return PartnerReportOut(
        windows=[ReportWindowOut.model_validate(w, from_attributes=True) for w in windows]
    )
