"""SQL of erasure: the leads of a customer, and the keys and fingerprints that go with it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_intake.models import CustomerFingerprint, CustomerKey, Lead, Partner

__all__ = [
    "countries",
    "delete_keys",
    "leads_of_fingerprints",
    "lock_leads",
]


async def countries(session: AsyncSession) -> list[str]:
    """Every country a partner places local phone numbers in."""
    result = await session.scalars(
        select(Partner.country).where(Partner.country.is_not(None)).distinct()
    )
    return sorted(c for c in result if c)


async def leads_of_fingerprints(session: AsyncSession, fingerprints: list[str]) -> set[str]:
    """The leads recorded under any of ``fingerprints`` (for any need, at any time), and the
    duplicates of those leads."""
    if not fingerprints:
        return set()
    originals = set(
        await session.scalars(
            select(CustomerFingerprint.lead_id).where(
                CustomerFingerprint.fingerprint.in_(fingerprints)
            )
        )
    )
    if not originals:
        return set()
    duplicates = await session.scalars(select(Lead.id).where(Lead.duplicate_of.in_(originals)))
    return originals | set(duplicates)


async def lock_leads(session: AsyncSession, lead_ids: set[str]) -> Sequence[Lead]:
    """The leads, locked, in id order (so two erasures never deadlock)."""
    if not lead_ids:
        return []
    result = await session.scalars(
        select(Lead).where(Lead.id.in_(sorted(lead_ids))).order_by(Lead.id).with_for_update()
    )
    return result.all()


async def delete_keys(session: AsyncSession, lead_ids: list[str]) -> None:
    """Delete the leads' data keys and the fingerprints they are recognised by."""
    await session.execute(delete(CustomerKey).where(CustomerKey.lead_id.in_(lead_ids)))
    await session.execute(
        delete(CustomerFingerprint).where(CustomerFingerprint.lead_id.in_(lead_ids))
    )
