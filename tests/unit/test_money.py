"""Exact money: minor units per ISO 4217 exponent and half-even rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crosslead_common.money import MoneyError, from_minor, round_minor, to_minor


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("1000.00", "EUR", 100000),
        ("1000", "EUR", 100000),
        ("0.01", "USD", 1),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
    ],
)
def test_amounts_convert_to_minor_units_exactly(amount: str, currency: str, minor: int) -> None:
    assert to_minor(amount, currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("10.001", "EUR"),
        ("1.5", "JPY"),
        ("NaN", "EUR"),
        ("Infinity", "EUR"),
        ("ten", "EUR"),
        ("1.00", "XXX"),
        ("1.00", "eur"),
        ("1000000000000.01", "EUR"),
        ("-1000000000001", "JPY"),
        ("99999999999999999999", "KWD"),
    ],
)
def test_unrepresentable_amounts_are_refused(amount: str, currency: str) -> None:
    with pytest.raises(MoneyError):
        to_minor(amount, currency)


def test_the_largest_amount_fits_a_signed_64_bit_column_in_every_currency() -> None:
    assert to_minor("1000000000000", "KWD") == 10**15 < 2**63 // 1000


def test_minor_units_format_with_the_currency_exponent() -> None:
    assert str(from_minor(10000, "EUR")) == "100.00"
    assert str(from_minor(-5, "EUR")) == "-0.05"
    assert str(from_minor(7, "JPY")) == "7"
    assert str(from_minor(1, "BHD")) == "0.001"


@pytest.mark.parametrize(
    ("value", "rounded"),
    [("12.5", 12), ("13.5", 14), ("-12.5", -12), ("12.500001", 13), ("12.49", 12)],
)
def test_rounding_is_half_even(value: str, rounded: int) -> None:
    assert round_minor(Decimal(value)) == rounded
