"""The event catalogue as an AsyncAPI 3.0 document, generated from the event models.

Each service serves the part it takes part in at ``GET /asyncapi.json``: the topics it
publishes to and consumes from, every event type on them with its JSON Schema (inside the
CloudEvents envelope), the Kafka key, and its own send and receive operations. Publishers of
the other services' events are named in each message's ``x-publisher``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from crosslead_common.events import ALL_TOPICS, EVENT_TYPES, Envelope, EventData, dlq_topic

__all__ = ["PUBLISHERS", "asyncapi_document"]

#: Which service publishes each event type (through its outbox).
PUBLISHERS: dict[str, str] = {
    **dict.fromkeys(
        (
            "crosslead.partner.registered.v1",
            "crosslead.partner.updated.v1",
            "crosslead.partner.status_changed.v1",
            "crosslead.partner.key_revoked.v1",
            "crosslead.agreement.created.v1",
            "crosslead.agreement.ended.v1",
            "crosslead.lead.received.v2",
            "crosslead.lead.duplicate.v1",
            "crosslead.customer.erased.v1",
            "crosslead.lead.accepted.v1",
            "crosslead.lead.rejected.v1",
            "crosslead.conversion.reported.v1",
        ),
        "intake",
    ),
    **dict.fromkeys(
        (
            "crosslead.lead.routed.v1",
            "crosslead.lead.waiting.v1",
            "crosslead.lead.unroutable.v1",
            "crosslead.lead.delivered.v1",
            "crosslead.lead.delivery_failed.v1",
            "crosslead.lead.expired.v1",
            "crosslead.webhook_endpoint.disabled.v1",
        ),
        "router",
    ),
    **dict.fromkeys(
        (
            "crosslead.commission.accrued.v1",
            "crosslead.commission.reversed.v1",
            "crosslead.payout.settled.v1",
        ),
        "payouts",
    ),
}

_REF = "#/components/schemas/{model}"


def asyncapi_document(
    service: str, consumers: Mapping[str, Iterable[str]], *, version: str = "0.1.0"
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``service``, which consumes the event types listed per
    consumer group in ``consumers``."""
    sent = [t for t, publisher in PUBLISHERS.items() if publisher == service]
    received = {group: list(types) for group, types in consumers.items()}
    involved = set(sent).union(*received.values())
    topics = [t for t in ALL_TOPICS if any(EVENT_TYPES[e].topic == t for e in involved)]
    schemas: dict[str, Any] = {}
    messages = {_message_name(e): _message(EVENT_TYPES[e], schemas) for e in involved}
    channels: dict[str, Any] = {}
    for topic in topics:
        on_topic = [e for e in EVENT_TYPES if e in involved and EVENT_TYPES[e].topic == topic]
        channels[_channel(topic)] = {
            "address": topic,
            "description": f"Events keyed by their aggregate id; dead letters go to "
            f"`{dlq_topic(topic)}`.",
            "messages": {
                _message_name(e): {"$ref": f"#/components/messages/{_message_name(e)}"}
                for e in on_topic
            },
        }
    operations: dict[str, Any] = {}
    for topic in topics:
        mine = [e for e in sent if EVENT_TYPES[e].topic == topic]
        if mine:
            operations[f"{service}.publish.{_channel(topic)}"] = _operation(
                "send", topic, mine, f"{service} publishes through its transactional outbox."
            )
        for group, types in received.items():
            taken = [e for e in types if EVENT_TYPES[e].topic == topic]
            if taken:
                operations[f"{service}.consume.{_channel(topic)}"] = _operation(
                    "receive",
                    topic,
                    taken,
                    f"{service} applies these once each in consumer group `{group}`.",
                )
    schemas["CloudEventsEnvelope"] = Envelope.model_json_schema(ref_template=_REF)
    schemas = _asyncapi_discriminators(dict(sorted(schemas.items())))
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"Crosslead {service} events",
            "version": version,
            "description": "CloudEvents 1.0 (structured mode, JSON) on Kafka. Event types "
            "are versioned; readers ignore fields they do not know.",
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _asyncapi_discriminators(node: Any) -> Any:
    # JSON Schema from pydantic uses OpenAPI's discriminator object; an AsyncAPI schema names
    # just the property.
    if isinstance(node, dict):
        return {
            key: value["propertyName"]
            if key == "discriminator" and isinstance(value, dict)
            else _asyncapi_discriminators(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_asyncapi_discriminators(item) for item in node]
    return node


def _channel(topic: str) -> str:
    return topic.replace(".", "-")


def _message_name(event_type: str) -> str:
    return event_type.removeprefix("crosslead.").replace(".", "-")


def _operation(action: str, topic: str, types: list[str], description: str) -> dict[str, Any]:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{_channel(topic)}"},
        "description": description,
        "messages": [
            {"$ref": f"#/channels/{_channel(topic)}/messages/{_message_name(e)}"} for e in types
        ],
    }


def _message(model: type[EventData], schemas: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF)
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    return {
        "name": model.event_type,
        "title": model.__name__,
        "summary": (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "),
        "x-publisher": PUBLISHERS[model.event_type],
        "payload": {
            "allOf": [
                {"$ref": _REF.format(model="CloudEventsEnvelope")},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": model.event_type},
                        "data": {"$ref": _REF.format(model=model.__name__)},
                    },
                },
            ]
        },
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "the aggregate id (CloudEvents subject)"},
                "bindingVersion": "0.5.0",
            }
        },
    }


def markdown(documents: Mapping[str, dict[str, Any]]) -> str:
    """The catalogue for people: per topic, each event type with its publisher, its consumers
    and its fields, from the services' AsyncAPI documents."""
    consumers: dict[str, set[str]] = {}
    for service, doc in documents.items():
        for operation in doc["operations"].values():
            if operation["action"] == "receive":
                for ref in operation["messages"]:
                    name = ref["$ref"].rsplit("/", 1)[-1]
                    consumers.setdefault(name, set()).add(service)
    lines = [
        "# Event catalogue",
        "",
        "Generated from the event models (`crosslead_common/events.py`); every service serves "
        "its part as AsyncAPI 3.0 at `GET /asyncapi.json`. Each event is a CloudEvents 1.0 "
        "JSON envelope (`id`, `source`, `type`, `subject`, `time`, `data`, and `traceparent` "
        "when it continues a trace); the Kafka key is the aggregate id (`subject`).",
    ]
    for topic in ALL_TOPICS:
        lines += ["", f"## `{topic}` (dead letters: `{dlq_topic(topic)}`)", ""]
        lines += [
            "| type | published by | consumed by | data fields |",
            "| --- | --- | --- | --- |",
        ]
        for event_type, model in EVENT_TYPES.items():
            if model.topic == topic:
                readers = ", ".join(sorted(consumers.get(_message_name(event_type), ()))) or "—"
                fields = ", ".join(f"`{f}`" for f in model.model_fields)
                lines.append(
                    f"| `{event_type}` | {PUBLISHERS[event_type]} | {readers} | {fields} |"
                )
    return "\n".join(lines) + "\n"
