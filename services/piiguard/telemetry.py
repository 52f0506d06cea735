"""OpenTelemetry tracing, the same way in every process.

Spans are exported over OTLP only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set
(Jaeger accepts OTLP directly). Trace context crosses JetStream in message
headers (W3C ``traceparent``), gRPC and HTTP (aiohttp, in and out) through the
OTel instrumentations; an outgoing HTTP span names only host and API method.
Span attributes hold ids, kinds and counts: never message text or tokens; what
the SDK records about exceptions is cut to their type on export (``span_scrub``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from piiguard.span_scrub import ScrubbingExporter

if TYPE_CHECKING:
    from piiguard.settings import Settings

_configured = False


def setup_tracing(service: str, config: Settings) -> None:
    """Install the tracer provider once per process; instrument gRPC and aiohttp."""
    global _configured
    if _configured:
        return
    _configured = True
    name = config.otel_service_name or f"piiguard-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    exporter = config.otel_traces_exporter.strip().lower()
    if exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        provider.add_span_processor(BatchSpanProcessor(ScrubbingExporter(ConsoleSpanExporter())))
    elif exporter == "otlp" and (config.otel_exporter_otlp_endpoint
                                 or config.otel_exporter_otlp_traces_endpoint):
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(ScrubbingExporter(OTLPSpanExporter())))
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorClient,
        GrpcAioInstrumentorServer,
    )

    GrpcAioInstrumentorServer().instrument()
    GrpcAioInstrumentorClient().instrument()
    instrument_http()


def instrument_http() -> None:
    """Trace HTTP in and out: ingest's aiohttp server (Slack events, Notion
    webhooks) and every aiohttp client (slack_sdk's async client, file downloads).
    Must run before the first ``web.Application`` is built, which the stage
    lifecycle guarantees by calling :func:`setup_tracing` first."""
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor

    with warnings.catch_warnings():
        # The server instrumentation subclasses web.Application, which aiohttp
        # discourages with a DeprecationWarning at class creation: expected here.
        warnings.simplefilter("ignore", DeprecationWarning)
        AioHttpServerInstrumentor().instrument()
    AioHttpClientInstrumentor().instrument(url_filter=span_url)


def uninstrument_http() -> None:
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor

    AioHttpClientInstrumentor().uninstrument()
    AioHttpServerInstrumentor().uninstrument()


# A Slack Web API call is named by its path (``/api/chat.delete``); any other path
# (``/files-pri/T-F/<file name>``, a pre-signed download) can carry a file's name or
# credential-shaped parameters, so spans keep only its host.
_API_METHOD_PATH = re.compile(r"/api/[A-Za-z][A-Za-z.]*")


def span_url(url: object) -> str:
    """What an outgoing HTTP span may say about its URL: scheme, host and an API
    method path; never a query string or any other path."""
    parts = urlsplit(str(url))
    path = parts.path if _API_METHOD_PATH.fullmatch(parts.path) else "/"
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{path}"


def shutdown_tracing() -> None:
    provider = trace.get_tracer_provider()
    shutdown = getattr(provider, "shutdown", None)
    if shutdown:
        shutdown()


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def inject_headers(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Add the current trace context (``traceparent``) to outgoing message headers."""
    propagate.inject(headers)
    return headers


def context_from_headers(headers: Mapping[str, str] | None) -> context.Context:
    return propagate.extract(dict(headers or {}))
