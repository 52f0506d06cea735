"""The last line of defence for spans: what OpenTelemetry records by itself.

Our own span attributes hold ids, kinds and counts. But the SDK and its gRPC
instrumentation record an exception on the span it ends — its message and
stack trace as event attributes, ``Type: message`` as the status description —
and an exception's message may quote the data it failed on. Every exporter is
wrapped in :class:`ScrubbingExporter`, which keeps only the exception's type.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status

KEPT_EXCEPTION_ATTRIBUTES = ("exception.type", "exception.escaped")


def scrub(span: ReadableSpan) -> ReadableSpan:
    """``span`` without exception messages, stack traces or status descriptions."""
    events = [
        Event(event.name, {k: v for k, v in (event.attributes or {}).items()
                           if k in KEPT_EXCEPTION_ATTRIBUTES}, event.timestamp)
        if event.name == "exception" else event
        for event in span.events
    ]
    return ReadableSpan(
        name=span.name, context=span.context, parent=span.parent, resource=span.resource,
        attributes=span.attributes, events=events, links=span.links, kind=span.kind,
        status=Status(span.status.status_code), start_time=span.start_time, end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class ScrubbingExporter(SpanExporter):
    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([scrub(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)
