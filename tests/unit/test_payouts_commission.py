"""Commission math of payouts, on plain values (minor units)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from crosslead_common.terms import (
    CommissionTerms,
    FlatCommission,
    Money,
    PercentCommission,
    Tier,
    TieredCommission,
    parse_terms,
)
from crosslead_payouts.commission import (
    Accrual,
    CommissionError,
    LeadTotals,
    Reversal,
    accrue,
    commission_for,
    manager_amount,
    reverse,
    split,
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


def test_manager_share_is_a_largest_remainder_split_of_the_commission() -> None:
    # 0.25 EUR halved: 12.5 cents each; the left-over cent goes to the first part (the manager).
    assert manager_amount(25, Decimal("0.5")) == 13
    assert manager_amount(35, Decimal("0.5")) == 18
    assert manager_amount(10, Decimal("0.33")) == 3  # 3.3 vs 6.7: the partner gets the cent


def test_split_always_sums_to_the_whole() -> None:
    assert split(100, [Decimal(1), Decimal(1), Decimal(1)]) == [34, 33, 33]
    assert split(7, [Decimal("0.5"), Decimal("0.25"), Decimal("0.25")]) == [3, 2, 2]
    assert split(0, [Decimal(1), Decimal(0)]) == [0, 0]


@given(
    total=st.integers(min_value=0, max_value=10**15),
    weights=st.lists(st.decimals(min_value=0, max_value=1000, places=3), min_size=1, max_size=6),
)
def test_no_cent_is_created_or_lost_in_a_split(total: int, weights: list[Decimal]) -> None:
    if sum(weights) == 0:
        return
    parts = split(total, weights)
    assert sum(parts) == total
    for part, weight in zip(parts, weights, strict=True):
        assert abs(part - total * weight / sum(weights)) < 1  # each part within a cent of its quota


TIERS = TieredCommission(
    currency="EUR",
    tiers=(
        Tier(from_amount=Decimal(0), rate=Decimal("0.10")),
        Tier(from_amount=Decimal("10000"), rate=Decimal("0.05")),
        Tier(from_amount=Decimal("50000"), rate=Decimal("0.02")),
    ),
)


@pytest.mark.parametrize(
    ("volume_before", "deal", "expected"),
    [
        (0, 1_000_000, 100_000),  # 10 000.00 at 10 %
        (0, 2_000_000, 150_000),  # 10 000 at 10 % + 10 000 at 5 %
        (900_000, 200_000, 15_000),  # 1 000 at 10 % + 1 000 at 5 %
        (4_900_000, 200_000, 7_000),  # 1 000 at 5 % + 1 000 at 2 %
        (0, 6_000_000, 320_000),  # 1 000 + 2 000 + 200 EUR
        (7_000_000, 100_000, 2_000),  # all in the top tier
    ],
)
def test_tiered_commission_is_graduated_like_tax_brackets(
    volume_before: int, deal: int, expected: int
) -> None:
    assert commission_for(deal, "EUR", TIERS, month_volume=volume_before) == (expected, "EUR")


def test_tiers_must_start_at_zero_and_ascend_in_the_deal_currency() -> None:
    unordered = TIERS.model_copy(update={"tiers": TIERS.tiers[::-1]})
    with pytest.raises(CommissionError, match="starts at 0"):
        commission_for(100, "EUR", unordered)
    with pytest.raises(CommissionError, match="USD"):
        commission_for(100, "USD", TIERS)


def test_cap_per_lead_limits_the_commission_of_all_deals_on_the_lead() -> None:
    capped = PercentCommission(
        rate=Decimal("0.10"), cap_per_lead=Money(amount=Decimal("150"), currency="EUR")
    )
    assert commission_for(100_000, "EUR", capped) == (10_000, "EUR")
    assert commission_for(100_000, "EUR", capped, accrued_on_lead=10_000) == (5_000, "EUR")
    assert commission_for(100_000, "EUR", capped, accrued_on_lead=15_000) == (0, "EUR")
    tiered = TIERS.model_copy(update={"cap_per_lead": Money(amount=Decimal("50"), currency="EUR")})
    assert accrue(1_000_000, "EUR", tiered, Decimal("0.2")) == Accrual(5_000, 1_000, "EUR")


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


def test_flat_commission_is_in_minor_units_of_its_currency() -> None:
    assert commission_for(1, "EUR", FlatCommission(amount=Decimal("100"), currency="JPY")) == (
        100,
        "JPY",
    )
    # Terms intake would refuse (a fee the currency cannot represent) are refused here too.
    with pytest.raises(CommissionError, match="USD has 2 decimals"):
        commission_for(1, "EUR", FlatCommission(amount=Decimal("0.125"), currency="USD"))


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
        (100, TEN_PERCENT, Decimal("1.01")),
        (100, TEN_PERCENT, Decimal("NaN")),
    ],
)
def test_impossible_amounts_and_shares_are_refused(
    amount: int, terms: CommissionTerms, share: Decimal
) -> None:
    with pytest.raises(CommissionError):
        accrue(amount, "EUR", terms, share)


@pytest.mark.parametrize(
    "terms",
    [
        {"type": "percent", "rate": "1.5"},
        {"type": "percent", "rate": "-0.1"},
        {"type": "percent", "rate": "0"},
        {"type": "flat", "amount": "-1", "currency": "EUR"},
        {"type": "tiered", "currency": "EUR", "tiers": [{"from_amount": "0", "rate": "2"}]},
    ],
)
def test_impossible_terms_cannot_even_be_built(terms: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        parse_terms(terms)


def test_a_flat_commission_in_an_unknown_currency_is_refused() -> None:
    with pytest.raises(CommissionError, match="XYZ is not an ISO 4217 currency"):
        commission_for(100, "EUR", FlatCommission(amount=Decimal("1"), currency="XYZ"))


amounts = st.integers(min_value=1, max_value=10**12)
rates = st.decimals(min_value=0, max_value=1, places=4)
positive_rates = st.decimals(min_value=Decimal("0.0001"), max_value=1, places=4)


@given(
    deals=st.lists(amounts, min_size=1, max_size=4),
    rate=positive_rates,
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


@given(
    amount=amounts,
    rate=positive_rates,
    share=rates,
    extra=st.integers(min_value=1, max_value=10**6),
)
def test_one_full_refund_reverses_exactly_and_more_reverses_nothing(
    amount: int, rate: Decimal, share: Decimal, extra: int
) -> None:
    accrual = accrue(amount, "EUR", PercentCommission(rate=rate), share)
    totals = won(LeadTotals(), amount, accrual)
    totals, reversal = refunded(totals, amount)
    assert reversal == Reversal(accrual.commission, accrual.manager)
    assert reverse(totals, extra) == Reversal(0, 0)
