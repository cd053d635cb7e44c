"""The shape of the ledger: which entries a deal books, and how a partner's entries add up.

Pure functions; the ledger itself is append-only, so a reversal is a set of entries of the
same kinds with negative amounts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["CurrencyTotals", "Entry", "Kind", "Parties", "currency_totals", "deal_entries"]


class Kind(StrEnum):
    """What an entry means for the partner whose account it is on."""

    COMMISSION_EARNED = "commission_earned"  # the source, owed by the target
    COMMISSION_OWED = "commission_owed"  # the target, owing the source
    MANAGER_PAYABLE = "manager_payable"  # the source, owing its referring manager


@dataclass(frozen=True)
class Parties:
    """Who a deal on a lead involves."""

    source_partner_id: str
    target_partner_id: str
    manager_id: str


@dataclass(frozen=True)
class Entry:
    """One ledger line on ``partner_id``'s account; ``counterparty_partner_id`` is the other
    partner of the deal (for a manager payable too, so the line still names the deal)."""

    partner_id: str
    counterparty_partner_id: str
    kind: Kind
    manager_id: str | None
    amount_minor: int
    currency: str


def deal_entries(parties: Parties, commission: int, manager: int, currency: str) -> list[Entry]:
    """The entries that book ``commission`` and ``manager`` (negative for a reversal); zero
    amounts book nothing."""
    source, target = parties.source_partner_id, parties.target_partner_id
    entries = [
        Entry(source, target, Kind.COMMISSION_EARNED, None, commission, currency),
        Entry(target, source, Kind.COMMISSION_OWED, None, commission, currency),
        Entry(source, target, Kind.MANAGER_PAYABLE, parties.manager_id, manager, currency),
    ]
    return [entry for entry in entries if entry.amount_minor != 0]


@dataclass(frozen=True)
class CurrencyTotals:
    """A partner's position in one currency, in minor units."""

    currency: str
    earned: int = 0
    owed: int = 0
    manager_payable: int = 0

    @property
    def net(self) -> int:
        return self.earned - self.owed - self.manager_payable


_FIELD = {
    Kind.COMMISSION_EARNED: "earned",
    Kind.COMMISSION_OWED: "owed",
    Kind.MANAGER_PAYABLE: "manager_payable",
}


def currency_totals(sums: Iterable[tuple[str, str, int]]) -> list[CurrencyTotals]:
    """Fold ``(currency, kind, amount)`` sums into one total per currency, sorted by currency."""
    by_currency: defaultdict[str, dict[str, int]] = defaultdict(dict)
    for currency, kind, amount in sums:
        field = _FIELD[Kind(kind)]
        by_currency[currency][field] = by_currency[currency].get(field, 0) + amount
    return [CurrencyTotals(currency, **by_currency[currency]) for currency in sorted(by_currency)]
