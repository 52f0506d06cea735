"""Malformed gRPC calls to every method are ``INVALID_ARGUMENT`` (or
``RESOURCE_EXHAUSTED`` for size) — never retryable, never a traceback, never a
restart. Against the real ingest, detection and action processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from piiguard.v1 import (
    action_pb2,
    audit_pb2,
    detection_pb2,
    event_pb2,
    ingest_pb2,
)
from tests.support.pipeline import SERVICES, Pipeline
from tests.support.slack_standin import SlackStandIn

from .conftest import start_services

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

CALLER = "fuzz-exporter"  # an external Ingest API caller the policy lists
WORKSPACE = "T0001"
# (service that serves it, full method name, request type, who may call it: a
# component, or the external caller's certificate). Authorised callers, so what
# is tested is how each method treats what it is sent.
METHODS: dict[str, tuple[str, str, type[Message], str]] = {
    "SubmitEvent": ("ingest", "/piiguard.v1.Ingest/SubmitEvent", ingest_pb2.SubmitEventRequest, CALLER),
    "GetEventHistory": ("ingest", "/piiguard.v1.Audit/GetEventHistory", audit_pb2.GetEventHistoryRequest,
                        "admin"),
    "Scan": ("detection", "/piiguard.v1.Detection/Scan", detection_pb2.ScanRequest, "ingest"),
    "Execute": ("action", "/piiguard.v1.Action/Execute", action_pb2.ActionRequest, "detection"),
}
NEVER = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE,
         grpc.StatusCode.DEADLINE_EXCEEDED}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    with SlackStandIn() as slack:
        running = start_services(
            tmp_path_factory.mktemp("grpc-refusals"), SERVICES, slack_api_url=slack.api_url,
            policy_yaml=f"workspace:\n  teamId: {WORKSPACE}\ningestApi:\n  callers: [{CALLER}]\n")
        pids = {name: process.pid for name, process in running.processes.items()}
        try:
            yield running
            for name, process in running.processes.items():
                assert process.poll() is None and process.pid == pids[name], f"{name} restarted"
            for name in SERVICES:
                text = Path(running.log_path(name)).read_text(errors="replace")
                assert "Traceback" not in text, name
        finally:
            running.stop()


_caller_certificates: dict[Path, Any] = {}


def call_raw(pipeline: Pipeline, method: str, data: bytes,
             timeout: float = 30.0) -> tuple[grpc.StatusCode, str]:
    service, path, _, identity = METHODS[method]
    options = [("grpc.max_send_message_length", 64 * 1024 * 1024)]
    certificate = None
    if identity == CALLER:
        certificate = _caller_certificates.get(pipeline.workdir) or pipeline.caller_certificate(CALLER)
        _caller_certificates[pipeline.workdir] = certificate
    with pipeline.channel(service, identity if certificate is None else "admin", certificate=certificate,
                          options=options) as channel:
        stub = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
        try:
            stub(data, timeout=timeout)
        except grpc.RpcError as error:
            return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


def call(pipeline: Pipeline, method: str, request: Message) -> tuple[grpc.StatusCode, str]:
    return call_raw(pipeline, method, request.SerializeToString())


def event(**fields: Any) -> event_pb2.Event:
    base: dict[str, Any] = dict(event_id="EvGRPC1", workspace_id="T0001", channel_id="C0001",
                                user_id="U0001", ts="1700000000.000100", text="hello")
    base.update(fields)
    return event_pb2.Event(**base)


GARBAGE = [b"\xff\xff\xff\xff", b"\x0a\xff\x01", b"\x08" * 7, b"\x12\x05abc", bytes(range(256))]


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("garbage", GARBAGE, ids=[f"garbage{i}" for i in range(len(GARBAGE))])
def test_garbage_protobuf_is_invalid_argument(pipeline: Pipeline, method: str, garbage: bytes) -> None:
    code, _ = call_raw(pipeline, method, garbage)
    assert code == grpc.StatusCode.INVALID_ARGUMENT


NEWLINE_ID = "Ev1\n2026-01-01T00:00:00 INFO    forged line"
BAD_EVENTS = {
    "empty": event_pb2.Event(),
    "no event_id": event(event_id=""),
    "no workspace": event(workspace_id=""),
    "no channel": event(channel_id=""),
    "no ts": event(ts=""),
    "event_id with a newline": event(event_id=NEWLINE_ID),
    "event_id with a space": event(event_id="Ev 1"),
    "event_id too long": event(event_id="E" * 300),
    "workspace with a dot": event(workspace_id="T1.extra x"),
    "user with a newline": event(user_id="U1\nU2"),
    "file without id": event(files=[event_pb2.FileRef(name="a.txt")]),
    "negative file size": event(files=[event_pb2.FileRef(id="F1", size=-1)]),
    "too many files": event(files=[event_pb2.FileRef(id=f"F{i}") for i in range(1001)]),
}


@pytest.mark.parametrize("name", list(BAD_EVENTS))
def test_malformed_events_are_invalid_argument_everywhere(pipeline: Pipeline, name: str) -> None:
    bad = BAD_EVENTS[name]
    assert call(pipeline, "SubmitEvent", ingest_pb2.SubmitEventRequest(event=bad))[0] == \
        grpc.StatusCode.INVALID_ARGUMENT
    assert call(pipeline, "Scan", detection_pb2.ScanRequest(event=bad, dry_run=True))[0] == \
        grpc.StatusCode.INVALID_ARGUMENT
    result = detection_pb2.DetectionResult(event_id=bad.event_id, verdict=detection_pb2.VERDICT_DELETE)
    assert call(pipeline, "Execute", action_pb2.ActionRequest(event=bad, result=result))[0] == \
        grpc.StatusCode.INVALID_ARGUMENT


def test_forged_log_lines_never_appear(pipeline: Pipeline) -> None:
    call(pipeline, "SubmitEvent", ingest_pb2.SubmitEventRequest(event=event(event_id=NEWLINE_ID)))
    for name in SERVICES:
        lines = Path(pipeline.log_path(name)).read_text(errors="replace").splitlines()
        assert not [line for line in lines if line.startswith("2026-01-01T00:00:00")]


BAD_RESULTS = {
    "no result": action_pb2.ActionRequest(event=event()),
    "no event": action_pb2.ActionRequest(result=detection_pb2.DetectionResult(event_id="E")),
    "unknown verdict": action_pb2.ActionRequest(event=event(), result=detection_pb2.DetectionResult(
        event_id="EvGRPC1", verdict=99)),  # type: ignore[arg-type]
    "offsets past the text": action_pb2.ActionRequest(event=event(), result=detection_pb2.DetectionResult(
        event_id="EvGRPC1", verdict=detection_pb2.VERDICT_NOTIFY,
        findings=[detection_pb2.Finding(entity_type="CREDIT_CARD", start=2, end=5000)])),
    "negative offsets": action_pb2.ActionRequest(event=event(), result=detection_pb2.DetectionResult(
        event_id="EvGRPC1", verdict=detection_pb2.VERDICT_NOTIFY,
        findings=[detection_pb2.Finding(entity_type="CREDIT_CARD", start=-3, end=2)])),
    "kind with a newline": action_pb2.ActionRequest(event=event(), result=detection_pb2.DetectionResult(
        event_id="EvGRPC1", verdict=detection_pb2.VERDICT_NOTIFY,
        findings=[detection_pb2.Finding(entity_type="CARD\nforged", start=0, end=2)])),
}


@pytest.mark.parametrize("name", list(BAD_RESULTS))
def test_malformed_action_requests_are_invalid_argument(pipeline: Pipeline, name: str) -> None:
    assert call(pipeline, "Execute", BAD_RESULTS[name])[0] == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("correlation_id", ["", "a\nb", "x" * 300, "with space"])
def test_malformed_history_requests_are_invalid_argument(pipeline: Pipeline, correlation_id: str) -> None:
    request = audit_pb2.GetEventHistoryRequest(correlation_id=correlation_id)
    assert call(pipeline, "GetEventHistory", request)[0] == grpc.StatusCode.INVALID_ARGUMENT


def test_oversized_event_is_resource_exhausted_not_unavailable(pipeline: Pipeline) -> None:
    # Larger than a stream message (nats-server's 1 MiB), within gRPC's own 4 MiB.
    big = ingest_pb2.SubmitEventRequest(event=event(event_id="EvBIG1", text="a" * (2 * 1024 * 1024)))
    code, details = call(pipeline, "SubmitEvent", big)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, details
    # Larger than gRPC takes at all.
    huge = ingest_pb2.SubmitEventRequest(event=event(event_id="EvBIG2", text="a" * (5 * 1024 * 1024)))
    assert call(pipeline, "SubmitEvent", huge)[0] == grpc.StatusCode.RESOURCE_EXHAUSTED


# -- fuzz -----------------------------------------------------------------------

IDS = st.text(max_size=12) | st.sampled_from(["T0001", "C0001", "U0001", "EvF", "1700000000.1"])
EVENTS = st.builds(
    event_pb2.Event, event_id=IDS, workspace_id=IDS, channel_id=IDS, user_id=IDS, ts=IDS,
    text=st.text(max_size=200),
    files=st.lists(st.builds(event_pb2.FileRef, id=IDS, name=st.text(max_size=10),
                             size=st.integers(-5, 10**6)), max_size=2),
)
FINDINGS = st.lists(st.builds(detection_pb2.Finding, entity_type=st.sampled_from(["CREDIT_CARD", "", "x y"]),
                              start=st.integers(-10, 300), end=st.integers(-10, 300)), max_size=3)


def _assert_refused_or_served(code: grpc.StatusCode, allowed: set[grpc.StatusCode]) -> None:
    assert code not in NEVER, code
    assert code in allowed, code


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(list(METHODS)), data=st.binary(max_size=512))
def test_fuzzed_bytes_to_every_method(pipeline: Pipeline, method: str, data: bytes) -> None:
    code, _ = call_raw(pipeline, method, data)
    allowed = {grpc.StatusCode.INVALID_ARGUMENT}
    if method == "GetEventHistory":
        allowed.add(grpc.StatusCode.OK)  # any printable id is a fair question
    _assert_refused_or_served(code, allowed)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(EVENTS)
def test_fuzzed_events_to_ingest_and_detection(pipeline: Pipeline, fuzzed: event_pb2.Event) -> None:
    # Refusals that are not retryable: another workspace's events are not this caller's
    # (PERMISSION_DENIED) nor this detection's (FAILED_PRECONDITION: no policy).
    ok = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED,
          grpc.StatusCode.FAILED_PRECONDITION}
    scan = detection_pb2.ScanRequest(event=fuzzed, dry_run=True)
    _assert_refused_or_served(call(pipeline, "Scan", scan)[0], ok)
    fuzzed.channel_id = "CFUZZ-" + fuzzed.channel_id if fuzzed.channel_id else ""
    submit = ingest_pb2.SubmitEventRequest(event=fuzzed)
    _assert_refused_or_served(call(pipeline, "SubmitEvent", submit)[0], ok)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(EVENTS, FINDINGS, st.integers(0, 5))
def test_fuzzed_action_requests(pipeline: Pipeline, fuzzed: event_pb2.Event,
                                findings: list[detection_pb2.Finding], verdict: int) -> None:
    request = action_pb2.ActionRequest(event=fuzzed, result=detection_pb2.DetectionResult(
        event_id=fuzzed.event_id, verdict=verdict, findings=findings))  # type: ignore[arg-type]
    code, _ = call(pipeline, "Execute", request)
    _assert_refused_or_served(code, {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT,
                                     grpc.StatusCode.FAILED_PRECONDITION})
