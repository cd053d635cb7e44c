"""ORM tables of the payouts service (and its outbox and processed-events tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    event,
    or_,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crosslead_common.db import UTCDateTime
from crosslead_common.kafka import processed_events_table
from crosslead_common.outbox import Outbox
from crosslead_common.partners import ACTIVE, KeyColumns

__all__ = [
    "APPEND_ONLY_TABLES",
    "Account",
    "AgreementVolume",
    "ApiKey",
    "Base",
    "Conversion",
    "LeadCommission",
    "LedgerEntry",
    "Partner",
    "PayoutRun",
    "Posting",
    "append_only_triggers",
    "outbox",
    "processed_events",
]

# SQLite only auto-increments an INTEGER primary key.
_BIGINT_ID = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    pass


outbox = Outbox(Base.metadata, source="crosslead/payouts")
processed_events = processed_events_table(Base.metadata)


class Partner(Base):
    """Projection of ``PartnerRegistered`` and ``PartnerStatusChanged``: enough to
    authenticate a partner's API key."""

    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: ``active`` or ``disabled`` (``PartnerStatusChanged``): a disabled partner's keys are
    #: refused.
    status: Mapped[str] = mapped_column(String(16), server_default=text(f"'{ACTIVE}'"))


class ApiKey(KeyColumns, Base):
    """The partners' API keys that stop working (``PartnerKeyRevoked``); a key not listed
    here is usable while its partner is not disabled."""

    __tablename__ = "api_keys"


class Conversion(Base):
    """A conversion already applied; its id is unique, so the same conversion arriving under
    another event id is recognised and applied once."""

    __tablename__ = "conversions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    commission_minor: Mapped[int] = mapped_column(BigInteger)
    manager_minor: Mapped[int] = mapped_column(BigInteger)
    commission_currency: Mapped[str] = mapped_column(String(3))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LeadCommission(Base):
    """Running totals of one lead in one deal currency, which refunds are reversed against.
    Kept in the same transaction as the ledger entries they summarise."""

    __tablename__ = "lead_commissions"
    __table_args__ = (
        Index("ix_lead_commissions_source_manager", "source_partner_id", "manager_id"),
    )

    lead_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    source_partner_id: Mapped[str] = mapped_column(String(64))
    target_partner_id: Mapped[str] = mapped_column(String(64))
    manager_id: Mapped[str] = mapped_column(String(200))
    commission_currency: Mapped[str] = mapped_column(String(3))
    won_minor: Mapped[int] = mapped_column(BigInteger)
    refunded_minor: Mapped[int] = mapped_column(BigInteger)
    commission_minor: Mapped[int] = mapped_column(BigInteger)
    manager_minor: Mapped[int] = mapped_column(BigInteger)
    reversed_commission_minor: Mapped[int] = mapped_column(BigInteger)
    reversed_manager_minor: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Posting(Base):
    """One balanced set of ledger entries, identified by what caused it (a conversion id, a
    payout run id): the primary key makes every posting happen at most once."""

    __tablename__ = "postings"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # accrual, reversal, settlement
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerEntry(Base):
    """One line of the append-only ledger: written once, never updated or deleted (triggers
    refuse it). Debits are positive, credits negative; an entry counts as available for payout
    from ``available_at`` (the end of the agreement's holding period)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_partner_at", "partner_id", "created_at", "id"),
        Index("ix_ledger_entries_manager", "partner_id", "manager_id", "kind"),
        Index("ix_ledger_entries_lead", "lead_id"),
        Index("ix_ledger_entries_currency_available", "currency", "available_at"),
    )

    id: Mapped[int] = mapped_column(_BIGINT_ID, primary_key=True)
    posting_id: Mapped[str] = mapped_column(
        ForeignKey("postings.id", name="fk_ledger_entries_posting")
    )
    lead_id: Mapped[str] = mapped_column(String(64))
    partner_id: Mapped[str] = mapped_column(String(64))
    counterparty_partner_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    manager_id: Mapped[str] = mapped_column(String(200))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payout_run_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def is_available(self, at: datetime) -> bool:
        """Whether the entry counts towards payouts at ``at``: a settlement always (so no run,
        whatever its clock, sees a settled balance as open again), a commission or its reversal
        once its holding period is over. :meth:`available` is the same rule in SQL."""
        return self.payout_run_id is not None or self.available_at <= at

    @classmethod
    def available(cls, at: datetime) -> ColumnElement[bool]:
        """:meth:`is_available` as a SQL condition."""
        return or_(cls.payout_run_id.is_not(None), cls.available_at <= at)


class Account(Base):
    """The running balance of one account, kept in the transaction of each posting; the
    ``reconcile`` command checks it against a replay of the entries."""

    __tablename__ = "accounts"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    counterparty_partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    manager_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    balance_minor: Mapped[int] = mapped_column(BigInteger)


class AgreementVolume(Base):
    """An agreement's won deal volume in one currency in one calendar month (UTC), which
    tiered commissions are graduated by."""

    __tablename__ = "agreement_volumes"

    agreement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11"
    won_minor: Mapped[int] = mapped_column(BigInteger)


class PayoutRun(Base):
    """A recorded payout run: its result as answered, and the ``Idempotency-Key`` it ran under."""

    __tablename__ = "payout_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


APPEND_ONLY_TABLES = ("postings", "ledger_entries")


def append_only_triggers(dialect: str, table: str) -> list[str]:
    """DDL that makes the database itself refuse UPDATE and DELETE on ``table``."""
    message = f"{table} is append-only: post a reversing entry instead"
    if dialect == "postgresql":
        return [
            f"""CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger
                LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION '{message} (% refused)', TG_OP; END $$""",
            f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {table}_append_only()""",
            f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()""",
        ]
    return [
        f"""CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table}
            BEGIN SELECT RAISE(ABORT, '{message}'); END"""
        for operation in ("UPDATE", "DELETE")
    ]


def _install_triggers(table: Table, connection: Connection, **_: Any) -> None:
    for statement in append_only_triggers(connection.dialect.name, table.name):
        connection.exec_driver_sql(statement)


# Schemas built from the models (rather than by migrations) get the triggers too.
for _name in APPEND_ONLY_TABLES:
    event.listen(Base.metadata.tables[_name], "after_create", _install_triggers)
