"""The CloudEvents envelope and the event models."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from crosslead_common.events import (
    EVENT_TYPES,
    ConversionReported,
    Envelope,
    LeadRouted,
    PercentCommission,
    Topic,
    UndecodableEvent,
    decode,
)


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


def test_every_type_is_versioned_and_unique() -> None:
    assert all(t.startswith("crosslead.") and t.endswith(".v1") for t in EVENT_TYPES)
    assert len({cls.event_type for cls in EVENT_TYPES.values()}) == len(EVENT_TYPES)


def test_events_are_frozen_and_refuse_unknown_fields() -> None:
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
