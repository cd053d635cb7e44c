"""ORM tables of the router service (and its outbox and processed-events tables).

``partners`` and ``agreements`` are a projection built from events on ``crosslead.partners``;
they carry no foreign keys because the two event types travel on different partitions and may
arrive in either order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crosslead_common.db import UTCDateTime
from crosslead_common.kafka import processed_events_table
from crosslead_common.outbox import Outbox
from crosslead_common.partners import KeyColumns, PartnerColumns
from crosslead_router import sealing

__all__ = [
    "Agreement",
    "ApiKey",
    "Base",
    "CapacityUsage",
    "CustomerKey",
    "Decision",
    "Delivery",
    "DeliveryAttempt",
    "Offer",
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


class Partner(PartnerColumns, Base):
    __tablename__ = "partners"

    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiKey(KeyColumns, Base):
    """The partners' API keys that stop working (``PartnerKeyRevoked``); a key not listed
    here is usable while its partner is not disabled."""

    __tablename__ = "api_keys"


class Agreement(Base):
    __tablename__ = "agreements"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_partner_id: Mapped[str] = mapped_column(String(64), index=True)
    target_partner_id: Mapped[str] = mapped_column(String(64))
    categories: Mapped[list[str]] = mapped_column(JSON)
    accept_within_seconds: Mapped[int] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer, server_default="0")
    #: When the target learns the customer's contact: in the offer (``on_offer``) or by the
    #: ``lead.contact`` webhook once it accepted (``on_accept``).
    share_contact: Mapped[str] = mapped_column(String(16), server_default="on_accept")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookEndpoint(Base):
    """Where a partner wants its webhooks; deleting one deactivates it (``deleted_at``)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_partner", "partner_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    #: The signing secret, sealed (:mod:`crosslead_router.sealing`); read and set it in clear
    #: through :attr:`secret`. The router signs with it and the partner fetches it to verify.
    sealed_secret: Mapped[str] = mapped_column("secret", String(200))
    #: The secret before the last rotation, sealed (:attr:`previous_secret` in clear):
    #: webhooks carry its signature too until ``previous_secret_until``.
    sealed_previous_secret: Mapped[str | None] = mapped_column("previous_secret", String(200))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Webhook types it receives; None: all of them.
    event_types: Mapped[list[str] | None] = mapped_column(JSON)
    #: enabled | disabled
    status: Mapped[str] = mapped_column(String(16), server_default="enabled")
    #: Why it is disabled: ``manual`` (by its partner or the operator) or ``failing``.
    disabled_reason: Mapped[str | None] = mapped_column(String(16))
    #: The first failed attempt since its last success (None: the last attempt succeeded).
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Set ``id`` first: each sealed value is bound to its endpoint.
    @property
    def secret(self) -> str:
        return sealing.open_secret(self.sealed_secret, self.id)

    @secret.setter
    def secret(self, value: str) -> None:
        self.sealed_secret = sealing.seal_secret(value, self.id)

    @property
    def previous_secret(self) -> str | None:
        sealed = self.sealed_previous_secret
        return None if sealed is None else sealing.open_secret(sealed, self.id)

    @previous_secret.setter
    def previous_secret(self, value: str | None) -> None:
        self.sealed_previous_secret = None if value is None else sealing.seal_secret(value, self.id)


class RoutedLead(Base):
    """A received lead, the partner it is currently offered to (if any), and where it
    stands."""

    __tablename__ = "routed_leads"
    __table_args__ = (
        Index("ix_routed_leads_open_deadline", "state", "accept_by"),
        Index("ix_routed_leads_recheck", "state", "recheck_at"),
    )

    lead_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_partner_id: Mapped[str] = mapped_column(String(64))
    target_partner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    agreement_id: Mapped[str | None] = mapped_column(String(64))
    need: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(100))
    #: The categories the customer agreed to be passed to; None: the need only.
    consent_categories: Mapped[list[str] | None] = mapped_column(JSON)
    #: What the target may learn of the lead (customer, warmth, manager, ...): the offer's
    #: ``data`` is this without the customer unless the agreement shares it ``on_offer``.
    #: The ``customer`` is sealed (``{"sealed": ...}``), opened when a webhook is sent and
    #: gone once the customer is erased.
    offer: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: waiting | routed | delivered | accepted | unroutable (rejected and expired offers are
    #: followed at once by the next offer, or by waiting or unroutable)
    state: Mapped[str] = mapped_column(String(16))
    #: Offers made so far (the current one's number while it is open).
    hop: Mapped[int] = mapped_column(Integer, server_default="0")
    accept_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When a waiting lead is next re-evaluated.
    recheck_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CustomerKey(Base):
    """The router's copy of a lead customer's data key (wrapped under the customer-data key),
    from ``lead.received``; once the customer is erased, ``data_key`` is None for good, so a
    replayed ``lead.received`` does not bring it back."""

    __tablename__ = "customer_keys"

    lead_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data_key: Mapped[str | None] = mapped_column(String(200))
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Offer(Base):
    """Every offer of a lead to a partner and how it ended: the history that capacity,
    reciprocity, acceptance and conversion scores are computed from."""

    __tablename__ = "offers"
    __table_args__ = (
        Index("ix_offers_target", "target_partner_id", "offered_at"),
        Index("ix_offers_source", "source_partner_id", "offered_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(64), index=True)
    hop: Mapped[int] = mapped_column(Integer)
    source_partner_id: Mapped[str] = mapped_column(String(64))
    target_partner_id: Mapped[str] = mapped_column(String(64))
    agreement_id: Mapped[str] = mapped_column(String(64))
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: open | accepted | rejected | expired
    outcome: Mapped[str] = mapped_column(String(16))
    #: The target reported a won deal on the lead (and no refund since).
    converted: Mapped[bool] = mapped_column(Boolean, server_default=false())


class CapacityUsage(Base):
    """Offers a partner received in one capacity window (``day:2026-11-27`` in the partner's
    time zone, ``hour:2026-11-27T09`` in UTC); incremented only while below the limit."""

    __tablename__ = "capacity_usage"
    __table_args__ = (PrimaryKeyConstraint("partner_id", "window"),)

    partner_id: Mapped[str] = mapped_column(String(64))
    window: Mapped[str] = mapped_column(String(32))
    used: Mapped[int] = mapped_column(Integer)


class Decision(Base):
    """One routing decision about a lead (a :class:`RoutingDecision` as JSON)."""

    __tablename__ = "routing_decisions"
    __table_args__ = (Index("ix_routing_decisions_lead", "lead_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(64))
    #: routed | waiting | unroutable
    outcome: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    decision: Mapped[dict[str, Any]] = mapped_column(JSON)


class Delivery(Base):
    """One webhook to one partner: an offer, its withdrawal, or a test event. Its webhook id
    and body are fixed for every retry."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_endpoint", "endpoint_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The lead it is about (None for a test event).
    lead_id: Mapped[str | None] = mapped_column(ForeignKey("routed_leads.lead_id"), index=True)
    partner_id: Mapped[str] = mapped_column(String(64), index=True)
    #: The endpoint it was last sent to; set when created for a test event, which goes
    #: there only. None: the partner's newest enabled endpoint for its type.
    endpoint_id: Mapped[str | None] = mapped_column(String(64))
    webhook_id: Mapped[str] = mapped_column(String(64), unique=True)
    #: offer (``lead.offered``) | withdrawal (``lead.withdrawn``) | test (``webhook.test``) |
    #: the webhook type of a notice (``lead.delivered``, ``commission.accrued``, ...)
    kind: Mapped[str] = mapped_column(String(32), server_default="offer")
    body: Mapped[str] = mapped_column(Text)
    #: pending | delivered | failed | cancelled
    status: Mapped[str] = mapped_column(String(16))
    attempt_count: Mapped[int] = mapped_column(Integer)
    #: When a pending delivery is next tried (pushed forward while an attempt is in flight).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: W3C trace context of the decision that queued it; every attempt continues that trace.
    traceparent: Mapped[str | None] = mapped_column(String(64))
    #: When it was given up (status ``failed``).
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
