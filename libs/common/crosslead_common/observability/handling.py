"""What a consumer does with each event, made visible: a span continuing the event's trace,
log fields, one log line, and the handled / dead-lettered counters."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry.trace import SpanKind

from crosslead_common.events import Envelope
from crosslead_common.observability.logs import bind
from crosslead_common.observability.metrics import EVENTS_DEAD_LETTERED, EVENTS_HANDLED
from crosslead_common.observability.tracing import continue_trace

__all__ = ["Handling", "dead_lettered", "handled", "handling", "traced"]

log = logging.getLogger("crosslead.events")


@dataclass
class Handling:
    """Set ``outcome`` to ``applied``, ``duplicate`` or ``dead_lettered`` before the block
    ends."""

    outcome: str = "failed"


@contextmanager
def handling(envelope: Envelope, *, service: str, group: str) -> Iterator[Handling]:
    state = Handling()
    with traced(envelope):
        try:
            yield state
        finally:
            handled(envelope, state.outcome, service=service, group=group)


@contextmanager
def traced(envelope: Envelope) -> Iterator[None]:
    """The event's span (continuing its trace) and log fields, around its handling."""
    with (
        continue_trace(f"{envelope.type} process", envelope.traceparent, kind=SpanKind.CONSUMER),
        bind(event_id=envelope.id, event_type=envelope.type),
    ):
        yield


def handled(envelope: Envelope, outcome: str, *, service: str, group: str) -> None:
    """Count and log the ``outcome`` of handling ``envelope``."""
    if outcome == "dead_lettered":
        dead_lettered(service=service, group=group, event_type=envelope.type)
        return
    EVENTS_HANDLED.labels(service=service, group=group, type=envelope.type, outcome=outcome).inc()
    with bind(event_id=envelope.id, event_type=envelope.type):
        log.info("%s %s by %s", envelope.type, outcome, group)


def dead_lettered(*, service: str, group: str, event_type: str) -> None:
    EVENTS_DEAD_LETTERED.labels(service=service, group=group, type=event_type).inc()
