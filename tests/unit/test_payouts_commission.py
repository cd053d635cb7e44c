"""Commission math of payouts, on plain values (minor units)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crosslead_common.events import CommissionTerms, FlatCommission, PercentCommission
from crosslead_common.money import MoneyError
from crosslead_payouts.commission import (
    Accrual,
    CommissionError,
    LeadTotals,
    Reversal,
    accrue,
    commission_for,
    manager_amount,
    reverse,
)

TEN_PERCENT = PercentCommission(rate=Decimal("0.10"))


def won(totals: LeadTotals, amount: int, accrual: Accrual) -> LeadTotals:
    return replace(
        totals,
        won=totals.won + amount,
        commission=totals.commission + accrual.commission,
        manager=totals.manager + accrual.manager,
    )


def refunded(totals: LeadTotals, amount: int) -> tuple[LeadTotals, Reversal]:
    reversal = reverse(totals, amount)
    after = replace(
        totals,
        refunded=totals.refunded + amount,
        reversed_commission=totals.reversed_commission + reversal.commission,
        reversed_manager=totals.reversed_manager + reversal.manager,
    )
    return after, reversal


def test_a_won_deal_earns_the_rate_and_the_manager_his_share() -> None:
    assert accrue(100_000, "EUR", TEN_PERCENT, Decimal("0.20")) == Accrual(10_000, 2_000, "EUR")


def test_refunding_half_reverses_half_of_commission_and_manager_share() -> None:
    totals = LeadTotals(won=100_000, commission=10_000, manager=2_000)
    assert reverse(totals, 50_000) == Reversal(commission=5_000, manager=1_000)


@pytest.mark.parametrize(
    ("amount_minor", "expected"),
    [(125, 12), (135, 14), (145, 14), (155, 16), (124, 12), (126, 13)],
)
def test_commission_rounds_half_even_to_the_cent(amount_minor: int, expected: int) -> None:
    # 1.25 EUR at 10 % is 0.125 EUR: half-even gives 0.12, and 0.135 gives 0.14.
    assert commission_for(amount_minor, "EUR", TEN_PERCENT) == (expected, "EUR")


def test_manager_share_rounds_half_even() -> None:
    assert manager_amount(25, Decimal("0.5")) == 12
    assert manager_amount(35, Decimal("0.5")) == 18


def test_currency_without_minor_units() -> None:
    # 12 345 JPY at 10 % is 1 234.5 yen: half-even gives 1 234.
    assert accrue(12_345, "JPY", TEN_PERCENT, Decimal("0.5")) == Accrual(1_234, 617, "JPY")


def test_currency_with_three_decimals() -> None:
    # 10.005 KWD at 50 % is 5.0025 KWD: half-even gives 5.002.
    terms = PercentCommission(rate=Decimal("0.5"))
    assert accrue(10_005, "KWD", terms, Decimal("0.1")) == Accrual(5_002, 500, "KWD")


def test_flat_commission_is_paid_in_its_own_currency() -> None:
    flat = FlatCommission(amount=Decimal("50.00"), currency="USD")
    assert accrue(100_000, "EUR", flat, Decimal("0.20")) == Accrual(5_000, 1_000, "USD")


def test_flat_commission_rounds_to_its_currency() -> None:
    assert commission_for(1, "EUR", FlatCommission(amount=Decimal("0.125"), currency="USD")) == (
        12,
        "USD",
    )
    assert commission_for(1, "EUR", FlatCommission(amount=Decimal("100"), currency="JPY")) == (
        100,
        "JPY",
    )


def test_repeated_partial_refunds_never_reverse_more_than_accrued() -> None:
    totals = won(LeadTotals(), 100_000, accrue(100_000, "EUR", TEN_PERCENT, Decimal("0.20")))
    reversed_commission = []
    for _ in range(4):  # 4 x 300.00 refunds against 1 000.00 won
        totals, reversal = refunded(totals, 30_000)
        reversed_commission.append(reversal.commission)
    assert reversed_commission == [3_000, 3_000, 3_000, 1_000]
    assert (totals.reversed_commission, totals.reversed_manager) == (10_000, 2_000)


def test_partial_refunds_adding_up_to_the_deal_reverse_everything_despite_rounding() -> None:
    # A 1-cent commission on a 3-cent deal, refunded a cent at a time: rounding each refund on
    # its own would reverse 0 + 0 + 0 and leave the cent accrued forever.
    totals = LeadTotals(won=3, commission=1, manager=1)
    reversals = []
    for _ in range(3):
        totals, reversal = refunded(totals, 1)
        reversals.append(reversal)
    assert sum(r.commission for r in reversals) == 1
    assert sum(r.manager for r in reversals) == 1


def test_a_refund_with_nothing_won_is_refused() -> None:
    with pytest.raises(CommissionError, match="nothing was won"):
        reverse(LeadTotals(), 100)


@pytest.mark.parametrize(
    ("amount", "terms", "share"),
    [
        (0, TEN_PERCENT, Decimal("0.2")),
        (-100, TEN_PERCENT, Decimal("0.2")),
        (100, PercentCommission(rate=Decimal("1.5")), Decimal("0.2")),
        (100, PercentCommission(rate=Decimal("-0.1")), Decimal("0.2")),
        (100, TEN_PERCENT, Decimal("1.01")),
        (100, TEN_PERCENT, Decimal("NaN")),
        (100, FlatCommission(amount=Decimal("-1"), currency="EUR"), Decimal("0.2")),
    ],
)
def test_impossible_terms_are_refused(amount: int, terms: CommissionTerms, share: Decimal) -> None:
    with pytest.raises(CommissionError):
        accrue(amount, "EUR", terms, share)


def test_a_flat_commission_in_an_unknown_currency_is_refused() -> None:
    with pytest.raises(MoneyError):
        commission_for(100, "EUR", FlatCommission(amount=Decimal("1"), currency="XYZ"))


amounts = st.integers(min_value=1, max_value=10**12)
rates = st.decimals(min_value=0, max_value=1, places=4)


@given(
    deals=st.lists(amounts, min_size=1, max_size=4),
    rate=rates,
    share=rates,
    refund_parts=st.lists(st.integers(min_value=1, max_value=10**12), min_size=1, max_size=8),
)
def test_reversals_never_exceed_accruals_and_a_full_refund_reverses_all(
    deals: list[int], rate: Decimal, share: Decimal, refund_parts: list[int]
) -> None:
    terms = PercentCommission(rate=rate)
    totals = LeadTotals()
    for amount in deals:
        totals = won(totals, amount, accrue(amount, "EUR", terms, share))
    # Refunds of arbitrary sizes, the last one refunding whatever is left of the deals.
    remaining = totals.won
    for part in refund_parts:
        if remaining <= 0:
            break
        step = min(part, remaining)
        totals, reversal = refunded(totals, step)
        remaining -= step
        assert reversal.commission >= 0
        assert reversal.manager >= 0
        assert totals.reversed_commission <= totals.commission
        assert totals.reversed_manager <= totals.manager
    if remaining > 0:
        totals, _ = refunded(totals, remaining)
    assert totals.reversed_commission == totals.commission
    assert totals.reversed_manager == totals.manager


@given(amount=amounts, rate=rates, share=rates, extra=st.integers(min_value=1, max_value=10**6))
def test_one_full_refund_reverses_exactly_and_more_reverses_nothing(
    amount: int, rate: Decimal, share: Decimal, extra: int
) -> None:
    accrual = accrue(amount, "EUR", PercentCommission(rate=rate), share)
    totals = won(LeadTotals(), amount, accrual)
    totals, reversal = refunded(totals, amount)
    assert reversal == Reversal(accrual.commission, accrual.manager)
    assert reverse(totals, extra) == Reversal(0, 0)
