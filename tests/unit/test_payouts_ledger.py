"""Which ledger entries a deal books, and how a partner's entries add up."""

from __future__ import annotations

from crosslead_payouts.ledger import (
    CurrencyTotals,
    Entry,
    Kind,
    Parties,
    currency_totals,
    deal_entries,
)

PARTIES = Parties(source_partner_id="shop", target_partner_id="installer", manager_id="m-1")


def test_a_won_deal_books_earned_owed_and_manager_payable() -> None:
    assert deal_entries(PARTIES, 10_000, 2_000, "EUR") == [
        Entry("shop", "installer", Kind.COMMISSION_EARNED, None, 10_000, "EUR"),
        Entry("installer", "shop", Kind.COMMISSION_OWED, None, 10_000, "EUR"),
        Entry("shop", "installer", Kind.MANAGER_PAYABLE, "m-1", 2_000, "EUR"),
    ]


def test_a_reversal_books_the_same_kinds_negated_and_skips_zero_amounts() -> None:
    assert deal_entries(PARTIES, -5_000, 0, "EUR") == [
        Entry("shop", "installer", Kind.COMMISSION_EARNED, None, -5_000, "EUR"),
        Entry("installer", "shop", Kind.COMMISSION_OWED, None, -5_000, "EUR"),
    ]


def test_totals_per_currency_are_sorted_and_net_out() -> None:
    sums = [
        ("USD", "commission_owed", 300),
        ("EUR", "commission_earned", 10_000),
        ("EUR", "manager_payable", 2_000),
        ("EUR", "commission_owed", 1_500),
    ]
    totals = currency_totals(sums)
    assert totals == [
        CurrencyTotals("EUR", earned=10_000, owed=1_500, manager_payable=2_000),
        CurrencyTotals("USD", owed=300),
    ]
    assert [t.net for t in totals] == [6_500, -300]
