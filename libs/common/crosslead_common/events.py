"""CloudEvents envelope and one frozen model per Crosslead event type.

Every event travels as a CloudEvents 1.0 structured-mode JSON document. ``type`` is versioned
(``crosslead.lead.routed.v1``): a published type is never changed incompatibly, a breaking
change gets a new ``.v2`` model. The Kafka key is the aggregate id (``subject``), so all events
about one lead stay in order on one partition.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)

from crosslead_common.terms import CommissionTerms

__all__ = [
    "ALL_TOPICS",
    "EVENT_TYPES",
    "AgreementCreated",
    "AgreementEnded",
    "Availability",
    "CommissionAccrued",
    "CommissionReversed",
    "Consent",
    "ConversionReported",
    "Customer",
    "CustomerErased",
    "Envelope",
    "EventData",
    "Exclusion",
    "LeadAccepted",
    "LeadDelivered",
    "LeadDeliveryFailed",
    "LeadDuplicate",
    "LeadExpired",
    "LeadReceived",
    "LeadRejected",
    "LeadRouted",
    "LeadUnroutable",
    "LeadWaiting",
    "Manager",
    "PartnerKeyRevoked",
    "PartnerRegistered",
    "PartnerStatusChanged",
    "PartnerUpdated",
    "PayoutSettled",
    "RoutingDecision",
    "ScoredCandidate",
    "SealedCustomer",
    "ShareContact",
    "Topic",
    "UndecodableEvent",
    "Warmth",
    "WebhookEndpointDisabled",
    "decode",
    "dlq_topic",
]


class Topic:
    """Topic names are part of the public contract (DESIGN.md)."""

    PARTNERS = "crosslead.partners"
    LEADS = "crosslead.leads"
    CONVERSIONS = "crosslead.conversions"
    COMMISSIONS = "crosslead.commissions"


ALL_TOPICS = (Topic.PARTNERS, Topic.LEADS, Topic.CONVERSIONS, Topic.COMMISSIONS)


def dlq_topic(topic: str) -> str:
    """Where messages of ``topic`` that cannot be decoded or handled are parked."""
    return f"{topic}.dlq"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


#: Every event type, by its type string; filled by each :class:`EventData` subclass that
#: names an ``event_type``.
EVENT_TYPES: dict[str, type[EventData]] = {}


class EventData(_Frozen):
    """Base of every event payload; subclasses name their type, topic and aggregate id, and
    are registered in :data:`EVENT_TYPES` by being defined."""

    event_type: ClassVar[str]
    topic: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        event_type = cls.__dict__.get("event_type")
        if event_type is None:
            return  # an intermediate base such as the one of all lead events
        if event_type in EVENT_TYPES:
            raise TypeError(f"{event_type} is defined twice: {EVENT_TYPES[event_type]} and {cls}")
        EVENT_TYPES[event_type] = cls

    def subject(self) -> str:
        """The aggregate id: the Kafka key and the CloudEvents ``subject``."""
        raise NotImplementedError


# --- value objects shared by several events --------------------------------------------------


#: When an agreement's target learns the customer's contact (API.md, agreements).
ShareContact = Literal["on_offer", "on_accept"]


class Customer(_Frozen):
    name: str
    phone: str | None = None
    email: str | None = None


class SealedCustomer(_Frozen):
    """A :class:`Customer` encrypted under a data key of its own (``crosslead_common.customers``):
    ``sealed`` is the contact, ``data_key`` that key wrapped under the services' customer-data
    key. Erasing the customer deletes every stored copy of the data key."""

    sealed: str
    data_key: str


class Consent(_Frozen):
    given_at: datetime
    text: str
    #: The categories the customer agreed to be passed to; ``None``: the lead's need only.
    categories: tuple[str, ...] | None = None


class Warmth(_Frozen):
    notes: str
    score: int | None = None


class Manager(_Frozen):
    id: str
    name: str | None = None


class Availability(_Frozen):
    """When a partner takes leads: ISO ``weekdays`` (1 = Monday) between ``start`` and ``end``
    (``end`` exclusive, ``start < end``) in the IANA ``timezone``."""

    timezone: str
    weekdays: tuple[int, ...]
    start: time
    end: time


class ScoredCandidate(_Frozen):
    """A partner that could take the lead, with the parts of its score (each in [0, 1]) and
    their weighted sum."""

    partner_id: str
    agreement_id: str
    score: float
    factors: dict[str, float]


class Exclusion(_Frozen):
    """A partner considered and left out, and why (``reason`` is a stable code such as
    ``capacity``, ``schedule``, ``paused``, ``region``, ``consent``, ``already_offered``)."""

    partner_id: str
    reason: str
    detail: str = ""


class RoutingDecision(_Frozen):
    """Why the router chose what it chose: candidates best first, and everyone excluded."""

    hop: int
    chosen_partner_id: str | None
    candidates: tuple[ScoredCandidate, ...]
    excluded: tuple[Exclusion, ...]


# --- partners and agreements (topic crosslead.partners) ---------------------------------------


class PartnerRegistered(EventData):
    """An operator registered a partner; carries the hash of its API key so every service can
    authenticate it without sharing a table."""

    event_type: ClassVar[str] = "crosslead.partner.registered.v1"
    topic: ClassVar[str] = Topic.PARTNERS

    partner_id: str
    name: str
    offers: tuple[str, ...]
    regions: tuple[str, ...]
    capacity_per_day: int | None
    api_key_hash: str
    capacity_per_hour: int | None = None
    availability: Availability | None = None
    paused: bool = False
    #: ISO 3166-1 alpha-2, where the partner's customers' local phone numbers are placed.
    country: str | None = None

    def subject(self) -> str:
        return self.partner_id


class PartnerUpdated(EventData):
    """A partner's routing settings changed; carries all of them as they now stand."""

    event_type: ClassVar[str] = "crosslead.partner.updated.v1"
    topic: ClassVar[str] = Topic.PARTNERS

    partner_id: str
    offers: tuple[str, ...]
    regions: tuple[str, ...]
    capacity_per_day: int | None
    capacity_per_hour: int | None
    availability: Availability | None
    paused: bool
    #: ISO 3166-1 alpha-2, where the partner's customers' local phone numbers are placed.
    country: str | None = None

    def subject(self) -> str:
        return self.partner_id


class PartnerKeyRevoked(EventData):
    """One of a partner's API keys stops working at ``expires_at``: at once when it was
    revoked, at the end of the overlap when a new key replaced it. Every service refuses the
    key from then on (a later event never extends it)."""

    event_type: ClassVar[str] = "crosslead.partner.key_revoked.v1"
    topic: ClassVar[str] = Topic.PARTNERS

    partner_id: str
    #: The key's public id (``key_`` and the start of its SHA-256 hash).
    key_id: str
    expires_at: datetime

    def subject(self) -> str:
        return self.partner_id


class PartnerStatusChanged(EventData):
    """The operator disabled a partner (``status: "disabled"``: its API keys are refused
    everywhere and it is no routing candidate) or enabled it again (``"active"``)."""

    event_type: ClassVar[str] = "crosslead.partner.status_changed.v1"
    topic: ClassVar[str] = Topic.PARTNERS

    partner_id: str
    status: Literal["active", "disabled"]

    def subject(self) -> str:
        return self.partner_id


class AgreementCreated(EventData):
    """Leads of ``categories`` from the source may go to the target, on these terms."""

    event_type: ClassVar[str] = "crosslead.agreement.created.v1"
    topic: ClassVar[str] = Topic.PARTNERS

    agreement_id: str
    source_partner_id: str
    target_partner_id: str
    categories: tuple[str, ...]
    commission: CommissionTerms
    manager_share: Decimal
    accept_within_seconds: int
    #: Higher wins when candidates are otherwise equal.
    priority: int = 0
    #: Days a commission stays ``pending`` before it can be paid out.
    holding_days: int = 0
    #: When the target learns the customer's contact: in the offer itself (``on_offer``) or
    #: only once it accepted the lead (``on_accept``, also for events from before the field).
    share_contact: ShareContact = "on_accept"

    def subject(self) -> str:
        return self.agreement_id


class AgreementEnded(EventData):
    """No new leads flow under the agreement from now on; deals on leads already routed under
    it still earn their commission."""

    event_type: ClassVar[str] = "crosslead.agreement.ended.v1"
    topic: ClassVar[str] = Topic.PARTNERS

    agreement_id: str
    source_partner_id: str
    target_partner_id: str

    def subject(self) -> str:
        return self.agreement_id


class WebhookEndpointDisabled(EventData):
    """The router stopped sending to a partner's webhook endpoint: every attempt at it failed
    for the configured time (``reason: "failing"``). Its partner gets no offers (nor other
    webhooks) through it until it is enabled again."""

    event_type: ClassVar[str] = "crosslead.webhook_endpoint.disabled.v1"
    topic: ClassVar[str] = Topic.PARTNERS

    partner_id: str
    endpoint_id: str
    url: str
    reason: str
    failing_since: datetime

    def subject(self) -> str:
        return self.partner_id


# --- the life of a lead (topic crosslead.leads, key lead_id) ----------------------------------


class _LeadEvent(EventData):
    topic: ClassVar[str] = Topic.LEADS
    lead_id: str

    def subject(self) -> str:
        return self.lead_id


class LeadReceived(_LeadEvent):
    """A partner submitted a warmed-up lead; intake stored it. The customer's contact travels
    encrypted (v2: ``customer`` became a :class:`SealedCustomer`)."""

    event_type: ClassVar[str] = "crosslead.lead.received.v2"

    source_partner_id: str
    source_partner_name: str
    need: str
    region: str
    customer: SealedCustomer
    consent: Consent
    warmth: Warmth
    manager: Manager
    external_id: str | None = None


class CustomerErased(_LeadEvent):
    """The customer of the lead asked to be forgotten: intake deleted its data key, and every
    service deletes its copy, so the contact can no longer be decrypted anywhere (and a
    ``lead.received`` read again later does not bring the key back)."""

    event_type: ClassVar[str] = "crosslead.customer.erased.v1"

    source_partner_id: str


class LeadDuplicate(_LeadEvent):
    """Intake recognised the customer of an earlier lead for the same need; the lead is not
    offered to anyone (published instead of ``lead.received``)."""

    event_type: ClassVar[str] = "crosslead.lead.duplicate.v1"

    source_partner_id: str
    need: str
    original_lead_id: str


class LeadRouted(_LeadEvent):
    """The router offered the lead to a target partner under an agreement (``hop`` counts the
    offers made so far, 1 for the first)."""

    event_type: ClassVar[str] = "crosslead.lead.routed.v1"

    source_partner_id: str
    target_partner_id: str
    agreement_id: str
    accept_by: datetime
    hop: int = 1
    decision: RoutingDecision | None = None


class LeadWaiting(_LeadEvent):
    """Partners exist for the lead but none can take it now (capacity or schedule or pause);
    the router offers it as soon as one can."""

    event_type: ClassVar[str] = "crosslead.lead.waiting.v1"

    reason: str
    decision: RoutingDecision | None = None


class LeadUnroutable(_LeadEvent):
    """No partner can take the lead."""

    event_type: ClassVar[str] = "crosslead.lead.unroutable.v1"

    reason: str
    decision: RoutingDecision | None = None


class LeadDelivered(_LeadEvent):
    """The target partner's webhook answered 2xx."""

    event_type: ClassVar[str] = "crosslead.lead.delivered.v1"

    delivery_id: str
    target_partner_id: str
    webhook_id: str
    attempts: int
    #: When the successful attempt was sent: the partner had the offer from then on, and may
    #: accept it before its 2xx (and so this event) comes back.
    sent_at: datetime


class LeadDeliveryFailed(_LeadEvent):
    """Every scheduled webhook attempt failed."""

    event_type: ClassVar[str] = "crosslead.lead.delivery_failed.v1"

    delivery_id: str
    target_partner_id: str
    attempts: int
    last_error: str


class LeadExpired(_LeadEvent):
    """The target partner did not accept the lead before its deadline."""

    event_type: ClassVar[str] = "crosslead.lead.expired.v1"

    target_partner_id: str
    accept_by: datetime


class LeadAccepted(_LeadEvent):
    """The target partner accepted the lead."""

    event_type: ClassVar[str] = "crosslead.lead.accepted.v1"

    partner_id: str


class LeadRejected(_LeadEvent):
    """The target partner turned the lead down."""

    event_type: ClassVar[str] = "crosslead.lead.rejected.v1"

    partner_id: str
    reason: str | None = None


# --- money (topics crosslead.conversions and crosslead.commissions, key lead_id) --------------


class ConversionReported(EventData):
    """The target partner reported a won deal or a refund on a lead; carries the agreement's
    terms as they stood, so the commission is computed from the terms the partners agreed."""

    event_type: ClassVar[str] = "crosslead.conversion.reported.v1"
    topic: ClassVar[str] = Topic.CONVERSIONS

    conversion_id: str
    lead_id: str
    external_id: str
    status: Literal["won", "refunded"]
    amount: Decimal
    currency: str
    source_partner_id: str
    target_partner_id: str
    manager_id: str
    agreement_id: str
    commission: CommissionTerms
    manager_share: Decimal
    holding_days: int = 0

    def subject(self) -> str:
        return self.lead_id


class _CommissionEvent(EventData):
    topic: ClassVar[str] = Topic.COMMISSIONS

    lead_id: str
    conversion_id: str
    source_partner_id: str
    target_partner_id: str
    manager_id: str
    commission: Decimal
    manager_amount: Decimal
    currency: str

    def subject(self) -> str:
        return self.lead_id


class CommissionAccrued(_CommissionEvent):
    """A won deal earned the source partner a commission and its manager a share of it."""

    event_type: ClassVar[str] = "crosslead.commission.accrued.v1"


class CommissionReversed(_CommissionEvent):
    """A refund reversed (part of) a commission and the manager's share of it."""

    event_type: ClassVar[str] = "crosslead.commission.reversed.v1"


class PayoutSettled(EventData):
    """A payout run settled the commission on a lead (by transfer or by netting)."""

    event_type: ClassVar[str] = "crosslead.payout.settled.v1"
    topic: ClassVar[str] = Topic.COMMISSIONS

    payout_run_id: str
    lead_id: str
    source_partner_id: str
    target_partner_id: str
    commission: Decimal
    manager_amount: Decimal
    currency: str

    def subject(self) -> str:
        return self.lead_id


class Envelope(_Frozen):
    """A CloudEvents 1.0 structured-mode envelope around one event's data."""

    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]
    #: CloudEvents distributed-tracing extension: the W3C trace context of the cause.
    traceparent: str | None = None

    @model_serializer(mode="wrap")
    def _omit_absent_extensions(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        if dumped.get("traceparent") is None:
            dumped.pop("traceparent", None)
        return dumped

    @classmethod
    def wrap(
        cls,
        data: EventData,
        *,
        source: str,
        time: datetime | None = None,
        traceparent: str | None = None,
    ) -> Envelope:
        """Wrap ``data`` in a new envelope with a fresh id."""
        return cls(
            id=str(uuid.uuid4()),
            source=source,
            type=data.event_type,
            subject=data.subject(),
            time=time or datetime.now(UTC),
            data=data.model_dump(mode="json"),
            traceparent=traceparent,
        )

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    def payload(self) -> EventData:
        """The typed event data; raises :class:`UndecodableEvent` for an unknown type.
        Fields the model does not know are ignored: a newer producer may add some during a
        rolling deploy."""
        model = EVENT_TYPES.get(self.type)
        if model is None:
            raise UndecodableEvent(f"unknown event type {self.type!r}")
        try:
            return model.model_validate(self.data, extra="ignore")
        except ValidationError as exc:
            raise UndecodableEvent(f"invalid {self.type} data: {_summary(exc)}") from exc


class UndecodableEvent(ValueError):
    """A message that is not a valid Crosslead event; it belongs in the dead-letter topic."""


def decode(raw: bytes | None) -> Envelope:
    """Parse a Kafka message value into an envelope (the data is checked by ``payload()``);
    attributes this version does not know are ignored."""
    if raw is None:
        raise UndecodableEvent("empty message")
    try:
        return Envelope.model_validate_json(raw, extra="ignore")
    except ValidationError as exc:
        raise UndecodableEvent(f"not a CloudEvents envelope: {_summary(exc)}") from exc


def _summary(exc: ValidationError) -> str:
    # Where and why, never the value: an event may carry a customer's contact.
    return "; ".join(
        f"{'.'.join(map(str, error['loc'])) or 'message'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)
    )
