"""HTTP DTOs of the payouts API. Money is a decimal string with the currency's exponent."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crosslead_common.money import MoneyError, exponent, from_minor
from crosslead_common.schemas import RequestBody
from crosslead_payouts.ledger import CurrencyTotals, Kind
from crosslead_payouts.models import PayoutRun
from crosslead_payouts.queries import ManagerEarnings, Statement, StatementLine

__all__ = ["ManagerEarningsOut", "PayoutRunIn", "PayoutRunOut", "StatementOut"]

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


class BalanceOut(BaseModel):
    """Where a currency's ``net`` stands: ``net = pending + available + paid``."""

    currency: str
    pending: str = Field(description="Still in its holding period", examples=["30.00"])
    available: str = Field(description="Settled by the next payout run", examples=["50.00"])
    paid: str = Field(description="Settled by payout runs so far", examples=["0.00"])

    @classmethod
    def of(cls, totals: CurrencyTotals) -> BalanceOut:
        c = totals.currency
        return cls(
            currency=c,
            pending=_money(totals.pending, c),
            available=_money(totals.available, c),
            paid=_money(totals.paid, c),
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
    available_at: datetime = Field(description="When the holding period ends")

    @classmethod
    def of(cls, line: StatementLine) -> StatementLineOut:
        return cls(
            lead_id=line.lead_id,
            kind=line.kind,
            amount=_money(line.amount, line.currency),
            currency=line.currency,
            counterparty_partner_id=line.counterparty_partner_id,
            manager_id=line.manager_id,
            at=line.at,
            available_at=line.available_at,
        )


class StatementOut(BaseModel):
    partner_id: str
    currency_totals: list[CurrencyTotalsOut]
    balances: list[BalanceOut] = Field(
        description="Per currency, the part of net that is pending, available and paid"
    )
    lines: list[StatementLineOut]

    CSV_HEADER: ClassVar[tuple[str, ...]] = (
        "lead_id",
        "kind",
        "amount",
        "currency",
        "counterparty_partner_id",
        "manager_id",
        "at",
        "available_at",
    )

    def csv_rows(self) -> list[tuple[object, ...]]:
        """One row per line, in the order of :attr:`CSV_HEADER`."""
        return [
            (
                line.lead_id,
                line.kind.value,
                line.amount,
                line.currency,
                line.counterparty_partner_id,
                line.manager_id,
                line.at.isoformat(),
                line.available_at.isoformat(),
            )
            for line in self.lines
        ]

    @classmethod
    def of(cls, statement: Statement) -> StatementOut:
        return cls(
            partner_id=statement.partner_id,
            currency_totals=[CurrencyTotalsOut.of(t) for t in statement.totals],
            balances=[BalanceOut.of(t) for t in statement.totals],
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


class PayoutRunIn(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"currency": "EUR"}]})

    currency: str = Field(description="ISO 4217 code; a run settles one currency", examples=["EUR"])
    # Left out of the body's fingerprint: a preview is never recorded under a key.
    dry_run: bool = Field(
        default=False,
        exclude=True,
        description="true: answer 200 with the transfers a run would make now, booking nothing",
    )

    @field_validator("currency")
    @classmethod
    def _known(cls, value: str) -> str:
        try:
            exponent(value)
        except MoneyError as exc:
            raise ValueError(str(exc)) from exc
        return value


class TransferOut(BaseModel):
    from_partner_id: str
    to_partner_id: str
    amount: str = _MONEY
    currency: str


class ManagerPayoutOut(BaseModel):
    partner_id: str = Field(description="The source partner that pays its manager")
    manager_id: str
    amount: str = _MONEY
    currency: str


class CarryOut(BaseModel):
    """An amount left for a later run: below the minimum payout, or negative (the partner was
    paid more than it has earned since, after a refund)."""

    from_partner_id: str
    to_partner_id: str | None = Field(description="null for an amount owed to a manager")
    manager_id: str | None
    amount: str = Field(description="What from owes to; negative: the other way round")
    currency: str


class PayoutRunOut(BaseModel):
    id: str
    currency: str
    created_at: datetime
    transfers: list[TransferOut]
    manager_payouts: list[ManagerPayoutOut]
    carried_forward: list[CarryOut]

    CSV_HEADER: ClassVar[tuple[str, ...]] = (
        "type",
        "from_partner_id",
        "to_partner_id",
        "manager_id",
        "amount",
        "currency",
    )

    def csv_rows(self) -> list[tuple[object, ...]]:
        """One row per transfer, manager payout and carried amount (``type`` says which)."""
        return [
            *(
                ("transfer", t.from_partner_id, t.to_partner_id, None, t.amount, t.currency)
                for t in self.transfers
            ),
            *(
                ("manager_payout", m.partner_id, None, m.manager_id, m.amount, m.currency)
                for m in self.manager_payouts
            ),
            *(
                (
                    "carried_forward",
                    c.from_partner_id,
                    c.to_partner_id,
                    c.manager_id,
                    c.amount,
                    c.currency,
                )
                for c in self.carried_forward
            ),
        ]

    @classmethod
    def of(cls, run: PayoutRun) -> PayoutRunOut:
        return cls(id=run.id, created_at=run.created_at, **_run_parts(run.currency, run.result))


class PayoutRunPreviewOut(BaseModel):
    """What a payout run would make now (``dry_run``); nothing was booked."""

    currency: str
    as_of: datetime
    transfers: list[TransferOut]
    manager_payouts: list[ManagerPayoutOut]
    carried_forward: list[CarryOut]

    @classmethod
    def of(cls, currency: str, result: dict[str, Any], as_of: datetime) -> PayoutRunPreviewOut:
        return cls(as_of=as_of, **_run_parts(currency, result))


def _run_parts(c: str, result: dict[str, Any]) -> dict[str, Any]:
    """A run's transfers, manager payouts and carried amounts, from minor units."""

    def money(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**item, "amount": _money(item["amount"], c), "currency": c} for item in items]

    return {
        "currency": c,
        "transfers": [TransferOut(**item) for item in money(result["transfers"])],
        "manager_payouts": [ManagerPayoutOut(**item) for item in money(result["manager_payouts"])],
        "carried_forward": [CarryOut(**item) for item in money(result["carried_forward"])],
    }
