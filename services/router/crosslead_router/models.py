"""ORM tables of the router service (and its outbox and processed-events tables).

``partners`` and ``agreements`` are a projection built from events on ``crosslead.partners``;
they carry no foreign keys because the two event types travel on different partitions and may
arrive in either order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crosslead_common.db import UTCDateTime
from crosslead_common.kafka import processed_events_table
from crosslead_common.outbox import Outbox

__all__ = [
    "Agreement",
    "Base",
    "Delivery",
    "DeliveryAttempt",
    "Partner",
    "RoutedLead",
    "WebhookEndpoint",
    "outbox",
    "processed_events",
]


class Base(DeclarativeBase):
    pass


outbox = Outbox(Base.metadata, source="crosslead/router")
processed_events = processed_events_table(Base.metadata)


class Partner(Base):
    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    offers: Mapped[list[str]] = mapped_column(JSON)
    regions: Mapped[list[str]] = mapped_column(JSON)
    capacity_per_day: Mapped[int | None] = mapped_column(Integer)
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Agreement(Base):
    __tablename__ = "agreements"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_partner_id: Mapped[str] = mapped_column(String(64), index=True)
    target_partner_id: Mapped[str] = mapped_column(String(64))
    categories: Mapped[list[str]] = mapped_column(JSON)
    accept_within_seconds: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookEndpoint(Base):
    """Where a partner wants its offers; deleting one deactivates it (``deleted_at``)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_partner", "partner_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    # Kept readable: the router signs with it and the partner fetches it to verify.
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RoutedLead(Base):
    """A lead the router matched to a target partner, and where it stands."""

    __tablename__ = "routed_leads"
    __table_args__ = (Index("ix_routed_leads_open_deadline", "state", "accept_by"),)

    lead_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_partner_id: Mapped[str] = mapped_column(String(64))
    target_partner_id: Mapped[str] = mapped_column(String(64), index=True)
    agreement_id: Mapped[str] = mapped_column(String(64))
    need: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(100))
    #: The offer's ``data`` as sent in the webhook (customer, warmth, manager, ...).
    offer: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: routed | delivered | accepted | rejected | expired
    state: Mapped[str] = mapped_column(String(16))
    accept_by: Mapped[datetime] = mapped_column(UTCDateTime)
    routed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One lead offered to one partner; its webhook id and body are fixed for every retry."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("routed_leads.lead_id"), index=True)
    partner_id: Mapped[str] = mapped_column(String(64), index=True)
    webhook_id: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[str] = mapped_column(Text)
    #: pending | delivered | failed | cancelled
    status: Mapped[str] = mapped_column(String(16))
    attempt_count: Mapped[int] = mapped_column(Integer)
    #: When a pending delivery is next tried (pushed forward while an attempt is in flight).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_delivery", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    url: Mapped[str | None] = mapped_column(String(2000))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(1000))
    duration_ms: Mapped[int] = mapped_column(Integer)
