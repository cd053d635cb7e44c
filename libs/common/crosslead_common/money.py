"""Exact money: ISO 4217 minor units, half-even rounding in one place, and exact splits.

Amounts cross the API and the event stream as decimal strings and are stored as integer minor
units; no float ever touches them.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

__all__ = [
    "CURRENCY_EXPONENTS",
    "MAX_AMOUNT",
    "MoneyError",
    "from_minor",
    "round_minor",
    "to_minor",
]

#: The largest amount (in major units, either sign) anything accepts: 10^12. In minor units
#: it stays below 10^15, so sums of thousands of such amounts still fit a signed 64-bit
#: column (about 9.2 * 10^18) and SQLite never turns a total into a float.
MAX_AMOUNT = Decimal(10) ** 12

# ISO 4217 active codes and their minor-unit exponents (currencies without minor units: 0;
# the dinars and rial with fils/baisa: 3). Codes not listed here are refused.
_EXPONENT_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_EXPONENT_3 = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENT_2 = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN "
    "BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS "
    "GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR "
    "LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD "
    "PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN "
    "SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR ZMW ZWL"
)
CURRENCY_EXPONENTS: dict[str, int] = {
    **{code: 2 for code in _EXPONENT_2.split()},
    **{code: 0 for code in _EXPONENT_0.split()},
    **{code: 3 for code in _EXPONENT_3.split()},
}


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


def exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise MoneyError(f"unknown currency {currency!r} (expected an ISO 4217 code)") from None


def to_minor(amount: Decimal | str, currency: str) -> int:
    """The exact number of minor units in ``amount``; refuses more decimals than the currency
    has, amounts beyond :data:`MAX_AMOUNT`, and non-finite values."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise MoneyError(f"{amount!r} is not a decimal amount") from None
    if not value.is_finite():
        raise MoneyError("amount must be a finite number")
    if abs(value) > MAX_AMOUNT:
        raise MoneyError(f"amounts are at most {MAX_AMOUNT:f} (10^12) in major units")
    minor = value.scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        raise MoneyError(f"{currency} has {exponent(currency)} decimals; got {amount}")
    return int(minor)


def round_minor(value: Decimal) -> int:
    """Round a fractional number of minor units half-even (banker's rounding)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def from_minor(minor: int, currency: str) -> Decimal:
    """``1000`` EUR cents → ``Decimal("10.00")``."""
    exp = exponent(currency)
    return Decimal(minor).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))
