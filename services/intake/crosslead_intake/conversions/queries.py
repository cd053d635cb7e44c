"""SQL of the conversions subdomain."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_intake.models import Conversion

__all__ = ["conversion_totals", "find_conversion"]


async def find_conversion(
    session: AsyncSession, lead_id: str, external_id: str, status: str
) -> Conversion | None:
    result: Conversion | None = await session.scalar(
        select(Conversion).where(
            Conversion.lead_id == lead_id,
            Conversion.external_id == external_id,
            Conversion.status == status,
        )
    )
    return result


async def conversion_totals(session: AsyncSession, lead_id: str) -> dict[tuple[str, str], int]:
    """Sum of reported amounts on a lead by (status, currency), in minor units."""
    rows = await session.execute(
        select(Conversion.status, Conversion.currency, func.sum(Conversion.amount_minor))
        .where(Conversion.lead_id == lead_id)
        .group_by(Conversion.status, Conversion.currency)
    )
    return {(status, currency): int(total) for status, currency, total in rows.all()}
