"""ORM tables of the intake service (and its outbox and processed-events tables)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crosslead_common.api.idempotency import idempotency_keys_table
from crosslead_common.db import DecimalString, UTCDateTime
from crosslead_common.kafka import processed_events_table
from crosslead_common.outbox import Outbox
from crosslead_common.partners import KeyColumns, PartnerColumns


class Base(DeclarativeBase):
    pass


outbox = Outbox(Base.metadata, source="crosslead/intake")
processed_events = processed_events_table(Base.metadata)
idempotency_keys = idempotency_keys_table(Base.metadata)


class Partner(PartnerColumns, Base):
    __tablename__ = "partners"

    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: ISO 3166-1 alpha-2: where the partner's customers' local phone numbers are placed.
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)


class ApiKey(KeyColumns, Base):
    """Every API key issued to a partner (only its hash is kept). ``expires_at``: when it stops
    working (the end of a rotation's overlap, or when it was revoked); ``revoked_at``: when
    ``DELETE`` revoked it."""

    __tablename__ = "api_keys"

    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Agreement(Base):
    __tablename__ = "agreements"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    target_partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    categories: Mapped[list[str]] = mapped_column(JSON)
    commission: Mapped[dict[str, Any]] = mapped_column(JSON)
    manager_share: Mapped[Decimal] = mapped_column(DecimalString)
    accept_within_seconds: Mapped[int] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer, server_default="0")
    holding_days: Mapped[int] = mapped_column(Integer, server_default="0")
    #: When the target learns the customer's contact: ``on_offer`` or ``on_accept``.
    share_contact: Mapped[str] = mapped_column(String(16), server_default="on_accept")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When the operator ended it: no new leads flow under it from then on.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Lead(Base):
    """A lead as submitted, plus the read model of its lifecycle (status, target)."""

    __tablename__ = "leads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    need: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(100))
    #: The contact sealed under the lead's data key (``{"sealed": ...}``, see
    #: ``crosslead_common.customers``); ``{}`` once the customer is erased.
    customer: Mapped[dict[str, Any]] = mapped_column(JSON)
    consent: Mapped[dict[str, Any]] = mapped_column(JSON)
    warmth: Mapped[dict[str, Any]] = mapped_column(JSON)
    manager: Mapped[dict[str, Any]] = mapped_column(JSON)
    external_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32))
    target_partner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    agreement_id: Mapped[str | None] = mapped_column(String(64))
    accept_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The offer the lead is on now (1 for the first); 0 before it is routed.
    hop: Mapped[int] = mapped_column(Integer, server_default="0")
    #: For a ``duplicate``: the earlier lead of the same customer and need.
    duplicate_of: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: When the customer's contact was erased (its data key deleted).
    customer_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CustomerKey(Base):
    """The data key of a lead's customer, wrapped under the customer-data key; deleting it
    erases the customer (crypto-shredding)."""

    __tablename__ = "customer_keys"

    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), primary_key=True)
    data_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LeadOffer(Base):
    """A partner the lead was offered to (by any hop): it may keep reading the lead."""

    __tablename__ = "lead_offers"

    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    hop: Mapped[int] = mapped_column(Integer)
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CustomerFingerprint(Base):
    """A keyed hash (HMAC-SHA256) of an original lead's phone or e-mail, never the value
    itself: later leads of the same customer and need are recognised as duplicates."""

    __tablename__ = "customer_fingerprints"
    __table_args__ = (Index("ix_customer_fingerprints_match", "fingerprint", "need", "created_at"),)

    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    need: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TimelineEntry(Base):
    """One lifecycle fact about a lead, in the order it happened."""

    __tablename__ = "lead_timeline"
    __table_args__ = (Index("ix_lead_timeline_lead_at", "lead_id", "at", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"))
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class Conversion(Base):
    __tablename__ = "conversions"
    __table_args__ = (UniqueConstraint("lead_id", "external_id", "status"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reported_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PitchCard(Base):
    """A partner's talking points for managers who warm up customers for its category."""

    __tablename__ = "pitch_cards"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    category: Mapped[str] = mapped_column(String(100))
    headline: Mapped[str] = mapped_column(String(200))
    talking_points: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Complements(Base):
    """The operator's complementarity map: needs worth suggesting beside ``category``."""

    __tablename__ = "complements"

    category: Mapped[str] = mapped_column(String(100), primary_key=True)
    complements: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
