"""The rules a reported deal must keep (pure): an amount the currency can represent, the
currency the agreement's terms name, and refunds never above what was won."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from crosslead_common import terms
from crosslead_common.domain import InvalidField
from crosslead_common.money import CURRENCY_EXPONENTS, MoneyError, from_minor, to_minor

__all__ = [
    "RefundFact",
    "deal_minor_units",
    "refund_fact",
    "require_currency",
    "require_refundable",
]


def deal_minor_units(amount: Decimal, currency: str) -> int:
    """The deal amount in minor units of ``currency``."""
    if currency not in CURRENCY_EXPONENTS:
        raise InvalidField("currency", f"{currency} is not an ISO 4217 currency")
    try:
        return to_minor(amount, currency)
    except MoneyError as exc:
        raise InvalidField("amount", str(exc)) from None


def require_currency(commission: terms.CommissionTerms, currency: str) -> None:
    """Deals under terms that name a currency (flat fee, tiers, cap) must be in it."""
    required = terms.deal_currency(commission)
    if required is not None and currency != required:
        raise InvalidField(
            "currency", f"the agreement's commission is in {required}; report deals in {required}"
        )


def require_refundable(won: int, refunded: int, refund: int, currency: str) -> None:
    """A refund needs a won deal in its currency and may not take back more than was won."""
    if won == 0:
        raise InvalidField("status", f"no won deal in {currency} on this lead to refund")
    if refunded + refund > won:
        left = from_minor(won - refunded, currency)
        raise InvalidField("amount", f"refunds would exceed the won amount; at most {left}")


RefundFact = Literal["refunded", "partially_refunded"]


def refund_fact(won: int, refunded: int, refund: int) -> RefundFact:
    """The timeline fact of a refund: the deal stands while some of it is left."""
    return "partially_refunded" if refunded + refund < won else "refunded"
