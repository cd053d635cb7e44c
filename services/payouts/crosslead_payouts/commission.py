"""Commission math on integer minor units: pure functions, no I/O.

Every fractional number of minor units is rounded half-even by
:func:`crosslead_common.money.round_minor`, the one rounding function of the code base.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, localcontext

from crosslead_common.events import CommissionTerms, FlatCommission
from crosslead_common.money import exponent, round_minor

__all__ = [
    "Accrual",
    "CommissionError",
    "LeadTotals",
    "Reversal",
    "accrue",
    "commission_for",
    "manager_amount",
    "reverse",
]


class CommissionError(ValueError):
    """Terms or amounts from which no commission can be computed."""


@dataclass(frozen=True)
class Accrual:
    """What a won deal earns: the commission (in ``currency``) and the manager's part of it."""

    commission: int
    manager: int
    currency: str


@dataclass(frozen=True)
class LeadTotals:
    """Running totals of one lead in one deal currency: ``won`` and ``refunded`` are deal
    amounts; the other four are in the commission's currency."""

    won: int = 0
    refunded: int = 0
    commission: int = 0
    manager: int = 0
    reversed_commission: int = 0
    reversed_manager: int = 0


@dataclass(frozen=True)
class Reversal:
    """What one refund takes back (both non-negative; the ledger books them negated)."""

    commission: int
    manager: int


@contextmanager
def _exact() -> Iterator[None]:
    # Amounts are BigIntegers (< 2**63), so products have at most ~40 digits; 100 digits of
    # precision keep every intermediate exact, and round_minor then rounds exactly once.
    with localcontext() as ctx:
        ctx.prec = 100
        yield


def _fraction(value: Decimal, name: str) -> Decimal:
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(1):
        raise CommissionError(f"{name} must be between 0 and 1, got {value}")
    return value


def commission_for(amount_minor: int, currency: str, terms: CommissionTerms) -> tuple[int, str]:
    """The commission on a won deal of ``amount_minor`` and the currency it is paid in: the
    rate times the amount, or the flat amount in the flat's own currency."""
    if amount_minor <= 0:
        raise CommissionError(f"a won deal needs a positive amount, got {amount_minor}")
    with _exact():
        if isinstance(terms, FlatCommission):
            if not terms.amount.is_finite() or terms.amount < 0:
                raise CommissionError(f"flat commission must be >= 0, got {terms.amount}")
            return round_minor(terms.amount.scaleb(exponent(terms.currency))), terms.currency
        return round_minor(_fraction(terms.rate, "rate") * amount_minor), currency


def manager_amount(commission_minor: int, manager_share: Decimal) -> int:
    """The referring manager's part of a commission."""
    with _exact():
        return round_minor(_fraction(manager_share, "manager_share") * commission_minor)


def accrue(
    amount_minor: int, currency: str, terms: CommissionTerms, manager_share: Decimal
) -> Accrual:
    """Commission and manager share of one won deal."""
    commission, commission_currency = commission_for(amount_minor, currency, terms)
    return Accrual(commission, manager_amount(commission, manager_share), commission_currency)


def _due(accrued: int, reversed_so_far: int, refunded: int, won: int) -> int:
    # The target is computed on the running refunded total rather than on this refund alone,
    # so rounding never drifts: refunds adding up to the won total reverse exactly everything.
    with _exact():
        target = min(round_minor(Decimal(accrued) * refunded / won), accrued)
    return max(target - reversed_so_far, 0)


def reverse(totals: LeadTotals, refund_minor: int) -> Reversal:
    """What a refund of ``refund_minor`` takes back: commission and manager share in proportion
    to the refunded part of what was won on the lead, never more than was accrued."""
    if refund_minor <= 0:
        raise CommissionError(f"a refund needs a positive amount, got {refund_minor}")
    if totals.won <= 0:
        raise CommissionError("nothing was won on this lead, so nothing can be refunded")
    refunded = totals.refunded + refund_minor
    return Reversal(
        commission=_due(totals.commission, totals.reversed_commission, refunded, totals.won),
        manager=_due(totals.manager, totals.reversed_manager, refunded, totals.won),
    )
