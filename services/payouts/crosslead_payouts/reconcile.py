"""Reconciliation: every account balance recomputed from the entries, and every posting
checked to balance. Zero discrepancies is the only healthy answer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_payouts import repository

__all__ = ["Discrepancy", "reconcile"]


@dataclass(frozen=True)
class Discrepancy:
    """A stored balance that differs from the replay of its entries, or a posting whose debits
    and credits differ (``what`` names the account or the posting)."""

    what: str
    expected: int
    found: int

    def __str__(self) -> str:
        return f"{self.what}: expected {self.expected}, found {self.found}"


async def reconcile(session: AsyncSession) -> list[Discrepancy]:
    """All discrepancies in the ledger, in a stable order (empty when it is sound)."""
    stored = await repository.stored_balances(session)
    replayed = await repository.replayed_balances(session)
    found = [
        Discrepancy(
            "account " + "/".join(account), replayed.get(account, 0), stored.get(account, 0)
        )
        for account in sorted(stored.keys() | replayed.keys())
        if stored.get(account, 0) != replayed.get(account, 0)
    ]
    found += [
        Discrepancy(f"posting {posting} in {currency} (debits - credits)", 0, difference)
        for posting, currency, difference in await repository.unbalanced_postings(session)
    ]
    return found
