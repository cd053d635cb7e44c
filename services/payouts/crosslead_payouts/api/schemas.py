"""HTTP DTOs of the payouts API. Money is a decimal string with the currency's exponent."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from crosslead_common.money import from_minor
from crosslead_payouts.ledger import CurrencyTotals, Kind
from crosslead_payouts.models import LedgerEntry
from crosslead_payouts.queries import ManagerEarnings, Statement

__all__ = ["ManagerEarningsOut", "StatementOut"]

_MONEY = Field(description="Decimal string in the currency's minor unit", examples=["100.00"])


def _money(minor: int, currency: str) -> str:
    return str(from_minor(minor, currency))


class CurrencyTotalsOut(BaseModel):
    currency: str
    earned: str = _MONEY
    owed: str = _MONEY
    manager_payable: str = _MONEY
    net: str = Field(description="earned - owed - manager_payable", examples=["80.00"])

    @classmethod
    def of(cls, totals: CurrencyTotals) -> CurrencyTotalsOut:
        c = totals.currency
        return cls(
            currency=c,
            earned=_money(totals.earned, c),
            owed=_money(totals.owed, c),
            manager_payable=_money(totals.manager_payable, c),
            net=_money(totals.net, c),
        )


class StatementLineOut(BaseModel):
    lead_id: str
    kind: Kind
    amount: str = Field(
        description="Signed decimal string; reversals are negative", examples=["-50.00"]
    )
    currency: str
    counterparty_partner_id: str = Field(description="The other partner of the deal")
    manager_id: str | None = Field(description="The referring manager, on manager_payable lines")
    at: datetime

    @classmethod
    def of(cls, entry: LedgerEntry) -> StatementLineOut:
        return cls(
            lead_id=entry.lead_id,
            kind=Kind(entry.kind),
            amount=_money(entry.amount_minor, entry.currency),
            currency=entry.currency,
            counterparty_partner_id=entry.counterparty_partner_id,
            manager_id=entry.manager_id,
            at=entry.created_at,
        )


class StatementOut(BaseModel):
    partner_id: str
    currency_totals: list[CurrencyTotalsOut]
    lines: list[StatementLineOut]

    @classmethod
    def of(cls, statement: Statement) -> StatementOut:
        return cls(
            partner_id=statement.partner_id,
            currency_totals=[CurrencyTotalsOut.of(t) for t in statement.totals],
            lines=[StatementLineOut.of(line) for line in statement.lines],
        )


class MoneyOut(BaseModel):
    currency: str
    amount: str = _MONEY


class ManagerEarningsOut(BaseModel):
    manager_id: str
    partner_id: str
    totals: list[MoneyOut]

    @classmethod
    def of(cls, earnings: ManagerEarnings) -> ManagerEarningsOut:
        return cls(
            manager_id=earnings.manager_id,
            partner_id=earnings.partner_id,
            totals=[MoneyOut(currency=c, amount=_money(m, c)) for c, m in earnings.totals],
        )
