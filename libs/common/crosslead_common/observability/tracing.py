"""OpenTelemetry traces that follow a lead across services.

The W3C ``traceparent`` of the current span is stored with every outbox row (as the
CloudEvents distributed-tracing extension attribute on the envelope) and with every webhook
delivery; consumers and the webhook dispatcher continue the trace from it. Spans are exported
over OTLP only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``)
is set; otherwise they only carry the ids along.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = [
    "continue_trace",
    "current_trace_id",
    "current_traceparent",
    "setup_tracing",
    "tracer",
]

_PROPAGATOR = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None


def setup_tracing(service: str) -> None:
    """Install the process's tracer provider once (the first service of a process names it)."""
    global _provider  # noqa: PLW0603 - one provider per process, as OpenTelemetry wants
    if _provider is not None:
        return
    _provider = TracerProvider(resource=Resource.create({"service.name": f"crosslead-{service}"}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(_provider)


def tracer() -> trace.Tracer:
    return trace.get_tracer("crosslead")


@contextmanager
def continue_trace(
    name: str,
    traceparent: str | Mapping[str, str] | None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    enabled: bool = True,
) -> Iterator[Span]:
    """A span continuing ``traceparent`` (a header value or a header mapping), or starting a
    new trace without one. Disabled: the incoming context is kept, no span is made."""
    carrier: Mapping[str, str]
    if traceparent is None:
        carrier = {}
    elif isinstance(traceparent, str):
        carrier = {"traceparent": traceparent}
    else:
        carrier = traceparent
    parent = _PROPAGATOR.extract(carrier=carrier)
    token = context.attach(parent)
    try:
        if not enabled:
            yield trace.get_current_span()
            return
        with tracer().start_as_current_span(name, kind=kind) as span:
            yield span
    finally:
        context.detach(token)


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, if there is one."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, if there is one."""
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None
