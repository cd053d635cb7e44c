"""ORM tables of the payouts service (and its outbox and processed-events tables)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crosslead_common.db import UTCDateTime
from crosslead_common.kafka import processed_events_table
from crosslead_common.outbox import Outbox

__all__ = [
    "Base",
    "Conversion",
    "LeadCommission",
    "LedgerEntry",
    "Partner",
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
    """Projection of ``PartnerRegistered``: enough to authenticate a partner's API key."""

    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


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


class LedgerEntry(Base):
    """One line of the append-only ledger: written once, never updated or deleted."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_partner_at", "partner_id", "created_at", "id"),
        Index("ix_ledger_entries_manager", "partner_id", "manager_id", "kind"),
    )

    id: Mapped[int] = mapped_column(_BIGINT_ID, primary_key=True)
    conversion_id: Mapped[str] = mapped_column(String(64))
    lead_id: Mapped[str] = mapped_column(String(64))
    partner_id: Mapped[str] = mapped_column(String(64))
    counterparty_partner_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    manager_id: Mapped[str | None] = mapped_column(String(200))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
