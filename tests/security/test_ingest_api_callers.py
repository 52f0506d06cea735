"""External Ingest API callers: authenticated, scoped to the workspaces whose
policy lists them, and named in the audit trail of what they submitted."""

from __future__ import annotations

import time

import grpc
import pytest

from piiguard.v1 import audit_pb2, audit_pb2_grpc, event_pb2, ingest_pb2, ingest_pb2_grpc
from tests.e2e.conftest import Harness, wait_for

from .conftest import CERT_CALLER, LISTED_CALLER, TOKENS, UNLISTED_CALLER, WORKSPACE
from .test_grpc_auth import token_channel

pytestmark = pytest.mark.e2e

CARD = "card 4111 1111 1111 1111"


def event(event_id: str, workspace: str = WORKSPACE) -> event_pb2.Event:
    return event_pb2.Event(event_id=event_id, workspace_id=workspace, channel_id="C0001",
                           user_id="UAPI", ts=f"{time.time():.6f}", text=CARD,
                           channel_type=event_pb2.CHANNEL_TYPE_PUBLIC)


def submit(channel: grpc.Channel, ev: event_pb2.Event) -> ingest_pb2.SubmitEventResponse:
    return ingest_pb2_grpc.IngestStub(channel).SubmitEvent(
        ingest_pb2.SubmitEventRequest(event=ev), timeout=15)


def refused(channel: grpc.Channel, ev: event_pb2.Event) -> grpc.StatusCode | None:
    try:
        submit(channel, ev)
    except grpc.RpcError as error:
        return error.code()
    return None


def history(harness: Harness, correlation_id: str) -> list[audit_pb2.AuditRecord]:
    with harness.pipeline.channel("ingest", "admin") as channel:
        return list(audit_pb2_grpc.AuditStub(channel).GetEventHistory(
            audit_pb2.GetEventHistoryRequest(correlation_id=correlation_id), timeout=10).records)


def received_by(harness: Harness, correlation_id: str) -> str | None:
    for record in history(harness, correlation_id):
        if record.step == audit_pb2.LIFECYCLE_STEP_RECEIVED:
            return record.submitted_by
    return None


def test_listed_token_caller_submits_and_is_named_in_the_audit_trail(secured: Harness) -> None:
    ev = event("EvAPITOKEN1")
    with token_channel(secured, TOKENS[LISTED_CALLER]) as channel:
        assert submit(channel, ev).status == ingest_pb2.SUBMIT_STATUS_ACCEPTED
    assert wait_for(lambda: received_by(secured, ev.event_id)) == LISTED_CALLER
    wait_for(lambda: secured.deletes_of(ev.ts), timeout=60)  # handled like any event


def test_listed_certificate_caller_submits_and_is_named(secured: Harness) -> None:
    ev = event("EvAPICERT1")
    certificate = secured.pipeline.caller_certificate(CERT_CALLER)
    with secured.pipeline.channel("ingest", certificate=certificate) as ch:
        assert submit(ch, ev).status == ingest_pb2.SUBMIT_STATUS_ACCEPTED
    assert wait_for(lambda: received_by(secured, ev.event_id)) == CERT_CALLER


def test_slack_events_carry_no_caller(secured: Harness) -> None:
    from tests.support import slack_events

    payload = slack_events.message_event(CARD)
    assert secured.post(payload).status == 200
    assert wait_for(lambda: received_by(secured, payload["event_id"]) is not None) is not None
    assert received_by(secured, payload["event_id"]) == ""


def test_caller_not_listed_by_the_policy_is_refused(secured: Harness) -> None:
    ev = event("EvAPIUNLISTED")
    with token_channel(secured, TOKENS[UNLISTED_CALLER]) as channel:
        assert refused(channel, ev) == grpc.StatusCode.PERMISSION_DENIED
    stranger = secured.pipeline.caller_certificate("stranger")
    with secured.pipeline.channel("ingest", certificate=stranger) as ch:
        assert refused(ch, ev) == grpc.StatusCode.PERMISSION_DENIED
    assert history(secured, ev.event_id) == []  # nothing accepted, nothing recorded
    assert secured.deletes_of(ev.ts) == []


def test_listed_caller_cannot_submit_for_another_or_a_made_up_workspace(secured: Harness) -> None:
    for workspace in ("T0OTHER", "TMADEUP99", "T0001.extra", "*"):
        ev = event(f"EvAPIWS{abs(hash(workspace)) % 10_000}", workspace=workspace)
        with token_channel(secured, TOKENS[LISTED_CALLER]) as channel:
            assert refused(channel, ev) == grpc.StatusCode.PERMISSION_DENIED, workspace
        assert history(secured, ev.event_id) == []


def test_pipeline_stages_cannot_submit_as_api_callers(secured: Harness) -> None:
    for identity in ("ingest", "detection", "action", "admin", "operator"):
        with secured.pipeline.channel("ingest", identity) as channel:
            assert refused(channel, event(f"EvAPISTAGE{identity}")) == grpc.StatusCode.PERMISSION_DENIED
