"""Which entries a deal books, how a partner's entries add up, and how a payout run nets and
carries balances — on plain values (minor units)."""

from __future__ import annotations

from crosslead_payouts.ledger import (
    AccountKind,
    Carry,
    CurrencyTotals,
    Entry,
    Kind,
    LeadBalance,
    ManagerPayout,
    Parties,
    Transfer,
    currency_totals,
    deal_entries,
    imbalance,
    plan_run,
)

PARTIES = Parties(source_partner_id="shop", target_partner_id="installer", manager_id="m-1")
R, P = AccountKind.COMMISSION_RECEIVABLE, AccountKind.COMMISSION_PAYABLE


def test_a_won_deal_books_balanced_receivable_payable_and_manager_share() -> None:
    entries = deal_entries("lead_1", PARTIES, 10_000, 2_000, "EUR")
    assert entries == [
        Entry("lead_1", "shop", "installer", R, "", 10_000, "EUR"),
        Entry("lead_1", "installer", "shop", P, "", -10_000, "EUR"),
        Entry("lead_1", "shop", "installer", AccountKind.MANAGER_EXPENSE, "m-1", 2_000, "EUR"),
        Entry("lead_1", "shop", "installer", AccountKind.MANAGER_PAYABLE, "m-1", -2_000, "EUR"),
    ]
    assert imbalance(entries) == {}


def test_a_reversal_books_the_same_accounts_negated_and_skips_zero_amounts() -> None:
    assert deal_entries("lead_1", PARTIES, -5_000, 0, "EUR") == [
        Entry("lead_1", "shop", "installer", R, "", -5_000, "EUR"),
        Entry("lead_1", "installer", "shop", P, "", 5_000, "EUR"),
    ]


def test_totals_per_currency_are_sorted_net_out_and_break_down() -> None:
    lines = [
        ("USD", Kind.COMMISSION_OWED, 300),
        ("EUR", Kind.COMMISSION_EARNED, 10_000),
        ("EUR", Kind.MANAGER_PAYABLE, 2_000),
        ("EUR", Kind.COMMISSION_OWED, 1_500),
    ]
    unsettled = [("EUR", 4_000, False), ("EUR", 500, True), ("USD", -300, True)]
    totals = currency_totals(lines, unsettled)
    assert totals == [
        CurrencyTotals(
            "EUR", earned=10_000, owed=1_500, manager_payable=2_000, pending=4_000, available=500
        ),
        CurrencyTotals("USD", owed=300, available=-300),
    ]
    assert [(t.net, t.paid) for t in totals] == [(6_500, 2_000), (-300, 0)]


def receivable(lead: str, partner: str, other: str, amount: int) -> LeadBalance:
    return LeadBalance(lead, partner, other, "", amount)


def test_mutual_obligations_net_into_one_transfer() -> None:
    # B owes A 200.00 on lead 1 (A earned it); A owes B 300.00 on lead 2.
    plan = plan_run(
        "EUR", [receivable("l1", "A", "B", 20_000), receivable("l2", "B", "A", 30_000)], []
    )
    assert plan.transfers == [Transfer("A", "B", 10_000)]
    assert imbalance(plan.entries) == {}
    assert {lead: s.commission for lead, s in plan.settled_leads.items()} == {
        "l1": 20_000,
        "l2": 30_000,
    }


def test_amounts_below_the_minimum_and_negative_manager_balances_are_carried_forward() -> None:
    plan = plan_run(
        "EUR",
        [receivable("l1", "A", "B", 900), receivable("l2", "C", "D", 5_000)],
        [
            LeadBalance("l1", "A", "B", "m-1", 500),
            LeadBalance("l2", "C", "D", "m-2", 2_000),
            LeadBalance("l4", "C", "D", "m-3", -1_500),  # paid, then refunded
        ],
        minimum=1_000,
    )
    assert plan.transfers == [Transfer("D", "C", 5_000)]
    assert plan.carried_forward == [
        Carry("B", "A", None, 900),
        Carry("A", None, "m-1", 500),
        Carry("C", None, "m-3", -1_500),
    ]
    assert plan.manager_payouts == [ManagerPayout("C", "m-2", 2_000)]
    assert set(plan.settled_leads) == {"l2"}
    assert imbalance(plan.entries) == {}


def test_a_negative_balance_is_carried_until_new_commission_nets_it() -> None:
    carried = plan_run(
        "EUR", [receivable("l1", "A", "B", -5_000), receivable("l2", "B", "A", 2_000)], []
    )
    # A is not billed for its refund: B's own commission is paid, A's negative carried.
    assert carried.transfers == [Transfer("A", "B", 2_000)]
    assert carried.carried_forward == [Carry("B", "A", None, -5_000)]
    assert set(carried.settled_leads) == {"l2"}
    netted = plan_run(
        "EUR", [receivable("l1", "A", "B", -5_000), receivable("l3", "A", "B", 20_000)], []
    )
    assert netted.transfers == [Transfer("B", "A", 15_000)]
    assert netted.carried_forward == []
    assert netted.settled_leads["l1"].commission == -5_000
