"""One OpenTelemetry trace per event, from the ingest HTTP request through
detection and action to the Slack API call — and no text or token in any span.

The three services run in this test's process (their real ``serve`` functions,
real NATS between them, real slack_sdk calls to the stand-in) so the SDK's
in-memory exporter sees every span; the trace context still crosses the stages
only through JetStream message headers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from piiguard import telemetry
from piiguard.action import main as action_main
from piiguard.detection import main as detection_main
from piiguard.ingest import main as ingest_main
from piiguard.natsserver import NatsServer, free_port
from piiguard.security.localca import LocalCA
from tests.support import slack_events
from tests.support.slack_standin import SlackStandIn

pytestmark = pytest.mark.e2e

SECRET = "tracing-signing-secret"
BOT_TOKEN = "xoxb-tracing-bot-token"
ADMIN_TOKEN = "xoxp-tracing-admin-token"
TEXT = "the corporate card is 4539 1488 0343 6467, use it for the hotel"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
        from opentelemetry.instrumentation.grpc import (
            GrpcAioInstrumentorClient,
            GrpcAioInstrumentorServer,
        )

        GrpcAioInstrumentorServer().instrument()
        GrpcAioInstrumentorClient().instrument()
    processor = SimpleSpanProcessor(memory)
    provider.add_span_processor(processor)
    telemetry.instrument_http()  # as every stage process does at start
    yield memory
    telemetry.uninstrument_http()
    processor.shutdown()


async def test_one_trace_spans_all_three_services(
    exporter: InMemorySpanExporter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    http_port = free_port()
    with SlackStandIn() as slack, NatsServer(tmp_path / "nats") as nats_server:
        for name, value in {
            "NATS_URL": nats_server.url, "SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_ADMIN_TOKEN": ADMIN_TOKEN, "SLACK_API_URL": slack.api_url,
            "PIIGUARD_HTTP_PORT": str(http_port), "PIIGUARD_POLICY": "",
        }.items():
            monkeypatch.setenv(name, value)
        stop = asyncio.Event()
        tasks = []
        ca = LocalCA.create(tmp_path / "tls")
        for name, serve in (("detection", detection_main.serve), ("action", action_main.serve),
                            ("ingest", ingest_main.serve)):
            monkeypatch.setenv("PIIGUARD_GRPC_PORT", str(free_port()))
            for variable, value in ca.issue_component(name).env().items():
                monkeypatch.setenv(variable, value)
            tasks.append(asyncio.create_task(serve(stop)))
            await asyncio.sleep(0)  # let it read its configuration
        try:
            payload = slack_events.message_event(TEXT, user="UTRACE")
            body, headers = slack_events.signed(SECRET, payload)
            url = f"http://127.0.0.1:{http_port}/slack/events"
            async with aiohttp.ClientSession() as session:
                for _ in range(300):
                    try:
                        async with session.post(url, data=body, headers=headers) as response:
                            if response.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.1)
            for _ in range(300):
                if slack.notices():
                    break
                await asyncio.sleep(0.1)
            assert slack.notices(), "the message was not handled"
            await asyncio.sleep(0.5)
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)

    spans = exporter.get_finished_spans()
    event_id = payload["event_id"]
    ours = [s for s in spans if (s.attributes or {}).get("piiguard.correlation_id") == event_id]
    trace_ids = {s.context.trace_id for s in ours}
    assert len(trace_ids) == 1, [s.name for s in ours]
    the_trace = [s for s in spans if s.context.trace_id in trace_ids]
    names = {s.name for s in the_trace}
    assert {"ingest slack event", "detection process", "action process",
            "slack chat.delete", "slack chat.postMessage"} <= names
    scopes = {s.instrumentation_scope.name for s in the_trace if s.instrumentation_scope}
    assert {"piiguard.ingest", "piiguard.detection", "piiguard.action", "piiguard.action.slack"} <= scopes
    # HTTP in (Slack's POST to ingest) and out (slack_sdk's calls) are in the same trace,
    # and an outgoing span names only host and API method.
    assert {"opentelemetry.instrumentation.aiohttp_server",
            "opentelemetry.instrumentation.aiohttp_client"} <= scopes, scopes
    client_urls = {str(value) for s in the_trace
                   if s.instrumentation_scope
                   and s.instrumentation_scope.name == "opentelemetry.instrumentation.aiohttp_client"
                   for key, value in (s.attributes or {}).items() if key in ("http.url", "url.full")}
    assert client_urls and all("?" not in url for url in client_urls), client_urls
    assert any(url.endswith("/api/chat.delete") for url in client_urls), client_urls

    forbidden = [TEXT, "4539 1488 0343 6467", "4539148803436467", SECRET, BOT_TOKEN, ADMIN_TOKEN]
    for span in spans:
        values = [str(v) for v in (span.attributes or {}).values()]
        for event in span.events:
            values += [event.name, *(str(v) for v in (event.attributes or {}).values())]
        values.append(span.name)
        for value in values:
            assert not any(secret in value for secret in forbidden), (span.name, value)
