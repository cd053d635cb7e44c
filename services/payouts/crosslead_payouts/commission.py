"""Commission math on integer minor units: pure functions, no I/O.

Every fractional number of minor units is rounded half-even by
:func:`crosslead_common.money.round_minor`, the one rounding function of the code base.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext

from crosslead_common.money import round_minor, to_minor
from crosslead_common.terms import (
    CommissionTerms,
    FlatCommission,
    Money,
    TieredCommission,
    problems,
)

__all__ = [
    "Accrual",
    "CommissionError",
    "LeadTotals",
    "Reversal",
    "accrue",
    "commission_for",
    "manager_amount",
    "reverse",
    "split",
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


def commission_for(
    amount_minor: int,
    currency: str,
    terms: CommissionTerms,
    *,
    month_volume: int = 0,
    accrued_on_lead: int = 0,
) -> tuple[int, str]:
    """The commission on a won deal of ``amount_minor`` and the currency it is paid in.

    Percent: the rate times the amount. Flat: the flat amount, in its own currency. Tiered:
    each part of the deal earns the rate of the tier that the agreement's won volume this month
    (``month_volume``, before this deal) has reached at that part. A ``cap_per_lead`` limits
    the commission of all deals on the lead together (``accrued_on_lead`` so far)."""
    if amount_minor <= 0:
        raise CommissionError(f"a won deal needs a positive amount, got {amount_minor}")
    for problem in problems(terms):  # the rules intake checked the agreement's terms by
        raise CommissionError(f"{problem.field}: {problem.message}")
    if isinstance(terms, FlatCommission):
        return to_minor(terms.amount, terms.currency), terms.currency
    with _exact():
        if isinstance(terms, TieredCommission):
            _same_currency(terms.currency, currency, "tiered commission")
            raw = round_minor(_graduated(amount_minor, month_volume, terms))
        else:
            raw = round_minor(terms.rate * amount_minor)
    return _capped(raw, terms.cap_per_lead, accrued_on_lead, currency), currency


def _same_currency(expected: str, actual: str, what: str) -> None:
    if expected != actual:
        raise CommissionError(f"{what} is in {expected} but the deal is in {actual}")


def _graduated(amount: int, volume_before: int, terms: TieredCommission) -> Decimal:
    """Like tax brackets: the deal covers volumes ``[volume_before, volume_before + amount)``
    and each slice earns the rate of the tier it falls in."""
    bounds = [to_minor(tier.from_amount, terms.currency) for tier in terms.tiers]
    start, end = volume_before, volume_before + amount
    total = Decimal(0)
    for tier, low, high in zip(terms.tiers, bounds, [*bounds[1:], None], strict=True):
        top = end if high is None else min(end, high)
        part = top - max(start, low)
        if part > 0:
            total += tier.rate * part
    return total


def _capped(commission: int, cap: Money | None, accrued_on_lead: int, currency: str) -> int:
    if cap is None:
        return commission
    _same_currency(cap.currency, currency, "cap_per_lead")
    return max(min(commission, to_minor(cap.amount, cap.currency) - accrued_on_lead), 0)


def split(total: int, weights: Sequence[Decimal]) -> list[int]:
    """Split ``total`` minor units in proportion to ``weights`` by the largest-remainder
    method: every part is its exact quota rounded down, and the units left over go to the
    largest remainders (the earlier part on a tie), so the parts always sum to ``total``."""
    if total < 0 or not weights or any(not w.is_finite() or w < 0 for w in weights):
        raise CommissionError("split needs a non-negative total and non-negative weights")
    whole = sum(weights)
    if whole == 0:
        raise CommissionError("split needs at least one positive weight")
    with _exact():
        quotas = [total * w / whole for w in weights]
        parts = [int(q.to_integral_value(rounding=ROUND_FLOOR)) for q in quotas]
        by_remainder = sorted(range(len(parts)), key=lambda i: (parts[i] - quotas[i], i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def manager_amount(commission_minor: int, manager_share: Decimal) -> int:
    """The referring manager's part of a commission; the partner keeps the rest."""
    share = _fraction(manager_share, "manager_share")
    manager, _partner = split(commission_minor, [share, 1 - share])
    return manager


def accrue(
    amount_minor: int,
    currency: str,
    terms: CommissionTerms,
    manager_share: Decimal,
    *,
    month_volume: int = 0,
    accrued_on_lead: int = 0,
) -> Accrual:
    """Commission and manager share of one won deal (see :func:`commission_for`)."""
    commission, commission_currency = commission_for(
        amount_minor,
        currency,
        terms,
        month_volume=month_volume,
        accrued_on_lead=accrued_on_lead,
    )
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
