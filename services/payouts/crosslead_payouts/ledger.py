"""The shape of the double-entry ledger: which entries a deal books, how a payout run settles
balances, and how a partner's entries read on its statement.

Pure functions. Every posting is a set of entries whose amounts sum to zero per currency
(debits positive, credits negative). The ledger is append-only: a correction is a reversing
posting, and a payout run is a posting that brings the balances it settles back to zero.

Accounts are per partner, counterparty partner, kind, manager (for manager accounts) and
currency. A won deal on a lead the *source* passed to the *target* books::

    Dr commission_receivable (source ← target)   commission
    Cr commission_payable    (target → source)   commission
    Dr manager_expense       (source, manager)   manager share
    Cr manager_payable       (source → manager)  manager share

A settled commission debits the payable and credits the receivable; a manager paid out debits
the payable and credits ``manager_paid`` (the money that left the partner towards the manager).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

__all__ = [
    "STATEMENT_ACCOUNTS",
    "AccountKind",
    "Carry",
    "CurrencyTotals",
    "Entry",
    "Kind",
    "LeadBalance",
    "LeadSettlement",
    "ManagerPayout",
    "Parties",
    "RunPlan",
    "Transfer",
    "currency_totals",
    "deal_entries",
    "imbalance",
    "plan_run",
    "statement_amount",
]


class AccountKind(StrEnum):
    """The kind of a ledger account."""

    COMMISSION_RECEIVABLE = "commission_receivable"  # source, owed by the target (debit)
    COMMISSION_PAYABLE = "commission_payable"  # target, owing the source (credit)
    MANAGER_EXPENSE = "manager_expense"  # source, its cost of the manager share (debit)
    MANAGER_PAYABLE = "manager_payable"  # source, owing its referring manager (credit)
    MANAGER_PAID = "manager_paid"  # source, paid out to its manager (credit)


class Kind(StrEnum):
    """The kind of a statement line: what an entry means for the partner who reads it."""

    COMMISSION_EARNED = "commission_earned"  # the source, owed by the target
    COMMISSION_OWED = "commission_owed"  # the target, owing the source
    MANAGER_PAYABLE = "manager_payable"  # the source, owing its referring manager


#: Statement kind of each account on a statement, and the sign that turns the account's
#: debit-positive amount into the statement's "what it means to the partner" amount.
_ON_STATEMENT: dict[AccountKind, tuple[Kind, int]] = {
    AccountKind.COMMISSION_RECEIVABLE: (Kind.COMMISSION_EARNED, 1),
    AccountKind.COMMISSION_PAYABLE: (Kind.COMMISSION_OWED, -1),
    AccountKind.MANAGER_PAYABLE: (Kind.MANAGER_PAYABLE, -1),
}
STATEMENT_ACCOUNTS = tuple(_ON_STATEMENT)


def statement_amount(kind: AccountKind, amount_minor: int) -> tuple[Kind, int]:
    """The statement kind and amount of an entry on a statement account (earned, owed and
    manager payable are positive; their reversals negative)."""
    statement_kind, sign = _ON_STATEMENT[kind]
    return statement_kind, sign * amount_minor


@dataclass(frozen=True)
class Parties:
    """Who a deal on a lead involves."""

    source_partner_id: str
    target_partner_id: str
    manager_id: str


@dataclass(frozen=True)
class Entry:
    """One ledger line on an account: debit positive, credit negative. ``manager_id`` is
    ``""`` except on manager accounts."""

    lead_id: str
    partner_id: str
    counterparty_partner_id: str
    kind: AccountKind
    manager_id: str
    amount_minor: int
    currency: str

    @property
    def account(self) -> tuple[str, str, str, str, str]:
        return (
            self.partner_id,
            self.counterparty_partner_id,
            self.kind.value,
            self.manager_id,
            self.currency,
        )


def deal_entries(
    lead_id: str, parties: Parties, commission: int, manager: int, currency: str
) -> list[Entry]:
    """The balanced entries that book ``commission`` and ``manager`` on a lead (both negated
    for a reversal); zero amounts book nothing."""
    source, target, manager_id = (
        parties.source_partner_id,
        parties.target_partner_id,
        parties.manager_id,
    )
    entries = [
        Entry(lead_id, source, target, AccountKind.COMMISSION_RECEIVABLE, "", commission, currency),
        Entry(lead_id, target, source, AccountKind.COMMISSION_PAYABLE, "", -commission, currency),
        Entry(lead_id, source, target, AccountKind.MANAGER_EXPENSE, manager_id, manager, currency),
        Entry(lead_id, source, target, AccountKind.MANAGER_PAYABLE, manager_id, -manager, currency),
    ]
    return [entry for entry in entries if entry.amount_minor != 0]


def imbalance(entries: Iterable[Entry]) -> dict[str, int]:
    """Debits minus credits per currency, for the currencies where they differ (empty for a
    balanced posting)."""
    sums: defaultdict[str, int] = defaultdict(int)
    for entry in entries:
        sums[entry.currency] += entry.amount_minor
    return {currency: total for currency, total in sums.items() if total != 0}


# --- statements -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurrencyTotals:
    """A partner's position in one currency, in minor units. ``pending``, ``available`` and
    ``paid`` break ``net`` down: not yet payable (holding period), payable in the next run,
    and already settled by payout runs."""

    currency: str
    earned: int = 0
    owed: int = 0
    manager_payable: int = 0
    pending: int = 0
    available: int = 0

    @property
    def net(self) -> int:
        return self.earned - self.owed - self.manager_payable

    @property
    def paid(self) -> int:
        return self.net - self.pending - self.available


_FIELD = {
    Kind.COMMISSION_EARNED: "earned",
    Kind.COMMISSION_OWED: "owed",
    Kind.MANAGER_PAYABLE: "manager_payable",
}


def currency_totals(
    lines: Iterable[tuple[str, Kind, int]],
    unsettled: Iterable[tuple[str, int, bool]] = (),
) -> list[CurrencyTotals]:
    """Fold statement ``lines`` ``(currency, kind, amount)`` and the partner's ``unsettled``
    net amounts ``(currency, amount, available)`` into one total per currency, sorted."""
    by_currency: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    for currency, kind, amount in lines:
        by_currency[currency][_FIELD[kind]] += amount
    for currency, amount, available in unsettled:
        by_currency[currency]["available" if available else "pending"] += amount
    return [CurrencyTotals(currency, **by_currency[currency]) for currency in sorted(by_currency)]


# --- payout runs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadBalance:
    """The available, unsettled balance of one account on one lead. For a receivable,
    ``amount`` is what the counterparty owes the partner; for a manager payable, what the
    partner owes ``manager_id`` (negative: what was paid out too much)."""

    lead_id: str
    partner_id: str
    counterparty_partner_id: str
    manager_id: str
    amount: int


@dataclass(frozen=True)
class Transfer:
    from_partner_id: str
    to_partner_id: str
    amount: int


@dataclass(frozen=True)
class ManagerPayout:
    partner_id: str
    manager_id: str
    amount: int


@dataclass(frozen=True)
class Carry:
    """An amount a run leaves for a later one: a transfer below the minimum payout, or what a
    partner owes its manager ``manager_id`` (then ``to_partner_id`` is None) when it is below
    the minimum or negative: the manager was paid a share of commission refunded since, which
    his next earnings net."""

    from_partner_id: str
    to_partner_id: str | None
    manager_id: str | None
    amount: int


@dataclass(frozen=True)
class LeadSettlement:
    """What a run settled on one lead: commission and manager share."""

    lead_id: str
    source_partner_id: str
    target_partner_id: str
    commission: int = 0
    manager: int = 0


@dataclass
class RunPlan:
    """Everything one payout run in ``currency`` does."""

    currency: str
    transfers: list[Transfer] = field(default_factory=list)
    manager_payouts: list[ManagerPayout] = field(default_factory=list)
    carried_forward: list[Carry] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    settled_leads: dict[str, LeadSettlement] = field(default_factory=dict)

    def record_settled(
        self, balance: LeadBalance, *, commission: int = 0, manager: int = 0
    ) -> None:
        """Add what the run settles of ``balance`` (whose owner is the lead's source) to its
        lead's settlement."""
        settled = self.settled_leads.get(balance.lead_id) or LeadSettlement(
            balance.lead_id, balance.partner_id, balance.counterparty_partner_id
        )
        self.settled_leads[balance.lead_id] = replace(
            settled, commission=settled.commission + commission, manager=settled.manager + manager
        )


def plan_run(
    currency: str,
    receivables: Iterable[LeadBalance],
    manager_payables: Iterable[LeadBalance],
    minimum: int = 0,
) -> RunPlan:
    """Settle what is available in ``currency``: per pair of partners, both directions net
    into one transfer; per partner and manager, one manager payout. Amounts below ``minimum``,
    and negative manager balances, are carried forward (their entries stay unsettled)."""
    plan = RunPlan(currency)
    for pair, balances in sorted(_by_pair(receivables).items()):
        _settle_pair(plan, pair, balances, minimum)
    for (partner_id, manager_id), balances in sorted(_by_manager(manager_payables).items()):
        _pay_manager(plan, partner_id, manager_id, balances, minimum)
    return plan


def _by_pair(balances: Iterable[LeadBalance]) -> dict[tuple[str, str], list[LeadBalance]]:
    pairs: defaultdict[tuple[str, str], list[LeadBalance]] = defaultdict(list)
    for balance in balances:
        a, b = sorted((balance.partner_id, balance.counterparty_partner_id))
        pairs[(a, b)].append(balance)
    return pairs


def _by_manager(balances: Iterable[LeadBalance]) -> dict[tuple[str, str], list[LeadBalance]]:
    managers: defaultdict[tuple[str, str], list[LeadBalance]] = defaultdict(list)
    for balance in balances:
        managers[(balance.partner_id, balance.manager_id)].append(balance)
    return managers


def _settle_pair(
    plan: RunPlan, pair: tuple[str, str], balances: list[LeadBalance], minimum: int
) -> None:
    """Net both directions of a pair into one transfer. A partner whose receivables from the
    other are negative in sum (paid out, then refunded) is not billed: the negative amount is
    carried forward and nets against what that partner earns from the other later."""
    sides: dict[str, list[LeadBalance]] = {partner: [] for partner in pair}
    for balance in balances:
        sides[balance.partner_id].append(balance)
    owed_to = {partner: sum(b.amount for b in side) for partner, side in sides.items()}
    for partner, total in owed_to.items():
        if total < 0:
            (other,) = set(pair) - {partner}
            plan.carried_forward.append(Carry(other, partner, None, total))
            owed_to[partner] = 0
            sides[partner] = []
    a, b = pair
    net_to_a = owed_to[a] - owed_to[b]
    receiver, payer = (a, b) if net_to_a > 0 else (b, a)
    amount = abs(net_to_a)
    if 0 < amount < minimum:
        plan.carried_forward.append(Carry(payer, receiver, None, amount))
        return
    if amount > 0:
        plan.transfers.append(Transfer(payer, receiver, amount))
    for balance in sides[a] + sides[b]:
        plan.entries += _settlement_entries(balance, plan.currency)
        plan.record_settled(balance, commission=balance.amount)


def _settlement_entries(balance: LeadBalance, currency: str) -> list[Entry]:
    lead, partner, other = balance.lead_id, balance.partner_id, balance.counterparty_partner_id
    return [
        Entry(
            lead, partner, other, AccountKind.COMMISSION_RECEIVABLE, "", -balance.amount, currency
        ),
        Entry(lead, other, partner, AccountKind.COMMISSION_PAYABLE, "", balance.amount, currency),
    ]


def _pay_manager(
    plan: RunPlan, partner_id: str, manager_id: str, balances: list[LeadBalance], minimum: int
) -> None:
    amount = sum(balance.amount for balance in balances)
    if amount < 0 or 0 < amount < minimum:
        plan.carried_forward.append(Carry(partner_id, None, manager_id, amount))
        return
    if amount > 0:  # zero: refunds cancelled what was owed, and the run settles the zero
        plan.manager_payouts.append(ManagerPayout(partner_id, manager_id, amount))
    for balance in balances:
        plan.entries += _manager_paid_entries(balance, plan.currency)
        plan.record_settled(balance, manager=balance.amount)


def _manager_paid_entries(balance: LeadBalance, currency: str) -> list[Entry]:
    lead, partner, other = balance.lead_id, balance.partner_id, balance.counterparty_partner_id
    manager, amount = balance.manager_id, balance.amount
    return [
        Entry(lead, partner, other, AccountKind.MANAGER_PAYABLE, manager, amount, currency),
        Entry(lead, partner, other, AccountKind.MANAGER_PAID, manager, -amount, currency),
    ]
