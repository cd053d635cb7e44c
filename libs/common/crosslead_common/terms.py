"""Commission terms: the one definition of each commission model and of its rules.

Intake validates an agreement's terms with these models and :func:`problems` (a 422 names the
field as the client wrote it), the events ``AgreementCreated`` and ``ConversionReported``
carry them, and payouts' arithmetic (``crosslead_payouts.commission``) takes the same types.
A new commission model is a new class here, a member of :data:`CommissionTerms`, and its
arithmetic in payouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from crosslead_common.money import CURRENCY_EXPONENTS, MoneyError, to_minor

__all__ = [
    "CommissionTerms",
    "FlatCommission",
    "Money",
    "PercentCommission",
    "Problem",
    "Tier",
    "TieredCommission",
    "deal_currency",
    "parse_terms",
    "problems",
]

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Rate = Annotated[Decimal, Field(gt=0, le=1, max_digits=12, allow_inf_nan=False)]
Fraction = Annotated[Decimal, Field(ge=0, le=1, max_digits=12, allow_inf_nan=False)]
Amount = Annotated[Decimal, Field(gt=0, max_digits=20, allow_inf_nan=False)]
FromAmount = Annotated[Decimal, Field(ge=0, max_digits=20, allow_inf_nan=False)]


class _Terms(BaseModel):
    # Unknown fields are refused; readers of events lift that with ``extra="ignore"``.
    model_config = ConfigDict(frozen=True, extra="forbid")


class Money(_Terms):
    amount: Amount
    currency: Currency


class PercentCommission(_Terms):
    """``rate`` of the deal amount, at most ``cap_per_lead`` per lead when set."""

    type: Literal["percent"] = "percent"
    rate: Rate
    cap_per_lead: Money | None = None


class FlatCommission(_Terms):
    """A fixed fee per won deal, in its own currency."""

    type: Literal["flat"] = "flat"
    amount: Amount
    currency: Currency


class Tier(_Terms):
    """``rate`` applies to the part of the month's won volume from ``from_amount`` upwards."""

    from_amount: FromAmount
    rate: Fraction


class TieredCommission(_Terms):
    """Graduated percent by the agreement's won volume in ``currency`` in the calendar month
    (UTC): each part of a deal earns the rate of the tier its volume falls in. Tiers start at
    0 and ``from_amount`` strictly ascends."""

    type: Literal["tiered"] = "tiered"
    currency: Currency
    tiers: tuple[Tier, ...] = Field(min_length=1, max_length=20)
    cap_per_lead: Money | None = None


CommissionTerms = Annotated[
    PercentCommission | FlatCommission | TieredCommission, Field(discriminator="type")
]
_ADAPTER: TypeAdapter[PercentCommission | FlatCommission | TieredCommission] = TypeAdapter(
    CommissionTerms
)


def parse_terms(stored: object) -> PercentCommission | FlatCommission | TieredCommission:
    """Terms as stored (JSON) back into their model."""
    return _ADAPTER.validate_python(stored)


@dataclass(frozen=True)
class Problem:
    """One rule the terms break: ``field`` is the path inside the terms (``tiers.0.rate``)."""

    field: str
    message: str


def problems(terms: PercentCommission | FlatCommission | TieredCommission) -> list[Problem]:
    """The rules beyond each field's own: amounts the currency can represent, tiers from 0
    strictly ascending, and a cap in the tiers' currency. Empty when the terms are sound."""
    found: list[Problem] = []
    if isinstance(terms, FlatCommission):
        found += _money(terms.amount, terms.currency, "amount", "currency")
    if isinstance(terms, TieredCommission):
        found += _tiers(terms)
    cap = None if isinstance(terms, FlatCommission) else terms.cap_per_lead
    if cap is not None:
        found += _money(cap.amount, cap.currency, "cap_per_lead.amount", "cap_per_lead.currency")
        if isinstance(terms, TieredCommission) and cap.currency != terms.currency:
            found.append(Problem("cap_per_lead.currency", f"must be the tiers' {terms.currency}"))
    return found


def _tiers(terms: TieredCommission) -> list[Problem]:
    previous: Decimal | None = None
    for i, tier in enumerate(terms.tiers):
        field = f"tiers.{i}.from_amount"
        money = _money(tier.from_amount, terms.currency, field, "currency")
        if money:
            return money
        if previous is None and tier.from_amount != 0:
            return [Problem(field, "the first tier starts at 0")]
        if previous is not None and tier.from_amount <= previous:
            return [Problem(field, "tiers must be in strictly ascending order")]
        previous = tier.from_amount
    return []


def _money(amount: Decimal, currency: str, field: str, currency_field: str) -> list[Problem]:
    if currency not in CURRENCY_EXPONENTS:
        return [Problem(currency_field, f"{currency} is not an ISO 4217 currency")]
    try:
        to_minor(amount, currency)
    except MoneyError as exc:
        return [Problem(field, str(exc))]
    return []


def deal_currency(terms: PercentCommission | FlatCommission | TieredCommission) -> str | None:
    """The one currency deals under these terms must be in, if the terms name one: a flat
    fee's, the tiers', or the cap's."""
    if isinstance(terms, FlatCommission | TieredCommission):
        return terms.currency
    return None if terms.cap_per_lead is None else terms.cap_per_lead.currency
