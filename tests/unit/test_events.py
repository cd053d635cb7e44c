"""The CloudEvents envelope and the event models."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar

import pytest
from pydantic import ValidationError

from crosslead_common.events import (
    EVENT_TYPES,
    AgreementCreated,
    ConversionReported,
    Envelope,
    EventData,
    LeadRouted,
    Topic,
    UndecodableEvent,
    decode,
)
from crosslead_common.terms import PercentCommission


def conversion() -> ConversionReported:
    return ConversionReported(
        conversion_id="conv_1",
        lead_id="lead_1",
        external_id="deal-1",
        status="won",
        amount=Decimal("1000.00"),
        currency="EUR",
        source_partner_id="ptr_a",
        target_partner_id="ptr_b",
        manager_id="mgr-7",
        agreement_id="agr_1",
        commission=PercentCommission(rate=Decimal("0.10")),
        manager_share=Decimal("0.20"),
    )


def test_envelope_round_trips_through_bytes_with_exact_decimals() -> None:
    event = conversion()
    envelope = Envelope.wrap(event, source="crosslead/intake")

    decoded = decode(envelope.to_bytes())

    assert decoded == envelope
    assert decoded.payload() == event
    assert decoded.data["amount"] == "1000.00"  # a string on the wire, never a float
    assert decoded.specversion == "1.0"
    assert decoded.type == "crosslead.conversion.reported.v1"
    assert decoded.subject == "lead_1"  # the aggregate id, also the Kafka key


def test_lead_events_are_keyed_by_lead_on_the_leads_topic() -> None:
    routed = LeadRouted(
        lead_id="lead_9",
        source_partner_id="a",
        target_partner_id="b",
        agreement_id="agr",
        accept_by=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert routed.topic == Topic.LEADS
    assert Envelope.wrap(routed, source="t").subject == "lead_9"


def all_event_classes(base: type[EventData] = EventData) -> list[type[EventData]]:
    found = []
    for cls in base.__subclasses__():
        if "event_type" in cls.__dict__:
            found.append(cls)
        found.extend(all_event_classes(cls))
    return found


def test_every_event_class_is_registered_by_its_versioned_type() -> None:
    classes = all_event_classes()
    assert len(classes) >= 18
    for cls in classes:
        assert cls.event_type.startswith("crosslead.")
        assert cls.event_type.rsplit(".", 1)[-1].startswith("v")
        assert EVENT_TYPES[cls.event_type] is cls


def test_a_new_event_class_decodes_by_being_defined_and_a_type_is_defined_once() -> None:
    class PartnerWaved(EventData):
        event_type: ClassVar[str] = f"crosslead.partner.waved_{uuid.uuid4().hex}.v1"
        topic: ClassVar[str] = Topic.PARTNERS
        partner_id: str

        def subject(self) -> str:
            return self.partner_id

    try:
        envelope = Envelope.wrap(PartnerWaved(partner_id="ptr_1"), source="t")
        assert decode(envelope.to_bytes()).payload() == PartnerWaved(partner_id="ptr_1")
        with pytest.raises(TypeError, match="defined twice"):

            class Again(EventData):
                event_type: ClassVar[str] = PartnerWaved.event_type
                topic: ClassVar[str] = Topic.PARTNERS
    finally:  # the catalogue tests in the same process see only the project's events
        del EVENT_TYPES[PartnerWaved.event_type]


def test_readers_ignore_fields_they_do_not_know_even_in_nested_terms() -> None:
    event = conversion()
    raw = json.loads(Envelope.wrap(event, source="t").to_bytes())
    raw["data"]["channel"] = "phone"
    raw["data"]["commission"]["floor"] = "5.00"
    raw["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert decode(json.dumps(raw).encode()).payload() == event


def test_an_agreement_published_before_share_contact_keeps_the_contact_until_accept() -> None:
    agreement = AgreementCreated(
        agreement_id="agr_1",
        source_partner_id="shop",
        target_partner_id="fitter",
        categories=("installation",),
        commission=PercentCommission(rate=Decimal("0.10")),
        manager_share=Decimal("0.20"),
        accept_within_seconds=3600,
        share_contact="on_offer",
    )
    raw = json.loads(Envelope.wrap(agreement, source="t").to_bytes())
    assert decode(json.dumps(raw).encode()).payload() == agreement
    del raw["data"]["share_contact"]
    old = decode(json.dumps(raw).encode()).payload()
    assert isinstance(old, AgreementCreated)
    assert old.share_contact == "on_accept"
    raw["data"]["share_contact"] = "always"
    with pytest.raises(UndecodableEvent):
        decode(json.dumps(raw).encode()).payload()


def test_events_are_frozen_and_producers_cannot_add_unknown_fields() -> None:
    event = conversion()
    with pytest.raises(ValidationError):
        event.amount = Decimal(1)  # type: ignore[misc]
    with pytest.raises(ValidationError):
        ConversionReported.model_validate({**event.model_dump(), "surprise": 1})


@pytest.mark.parametrize(
    "raw",
    [None, b"", b"{not json", b'{"specversion": "1.0"}'],
)
def test_garbage_is_undecodable(raw: bytes | None) -> None:
    with pytest.raises(UndecodableEvent):
        decode(raw)


def test_unknown_type_or_bad_data_is_undecodable() -> None:
    envelope = Envelope.wrap(conversion(), source="t")
    with pytest.raises(UndecodableEvent, match="unknown event type"):
        envelope.model_copy(update={"type": "crosslead.lead.received.v9"}).payload()
    with pytest.raises(UndecodableEvent, match="invalid"):
        envelope.model_copy(update={"data": {"lead_id": "x"}}).payload()
