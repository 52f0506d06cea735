"""Retries, dead letters, the audit trail, back-pressure and bad input — on the
real pipeline, with faults injected where they come from in production: Slack's
answers, the bytes on a stream, NATS going away."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import nats
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from piiguard.jetstream import events_subject, verdicts_subject
from piiguard.v1 import audit_pb2, audit_pb2_grpc, event_pb2, ingest_pb2, ingest_pb2_grpc
from tests.support import slack_events
from tests.support.slack_standin import Fault, SlackStandIn

from .conftest import SUBMITTER, Harness, running_pipeline, wait_for

pytestmark = pytest.mark.e2e

FAST_RETRIES = f"""
workspace: {{teamId: T0001}}
ingestApi: {{callers: [{SUBMITTER}]}}
queues:
  detection: {{maxAttempts: 3, backoff: ["200ms", "500ms"], ackWait: 10s}}
  action: {{maxAttempts: 3, backoff: ["200ms", "500ms"], ackWait: 10s}}
"""


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, slack: SlackStandIn) -> Iterator[Harness]:
    with running_pipeline(tmp_path_factory.mktemp("reliability"), slack, FAST_RETRIES) as harness:
        yield harness


def cli(harness: Harness, *args: str) -> subprocess.CompletedProcess[str]:
    env = harness.pipeline.cli_env()  # as the operators' admin identity
    return subprocess.run([sys.executable, "-m", "piiguard", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def dead_letters(harness: Harness) -> list[dict[str, Any]]:
    result = cli(harness, "dlq", "list", "--json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def dead_letter_for(harness: Harness, predicate: Any) -> dict[str, Any]:
    letter: dict[str, Any] | None = wait_for(
        lambda: next((d for d in dead_letters(harness) if predicate(d)), None), timeout=30)
    assert letter is not None
    return letter


def publish_raw(harness: Harness, subject: str, data: bytes) -> None:
    async def publish() -> None:
        nc = await nats.connect(harness.pipeline.nats.url,
                                **harness.pipeline.nats_auth().connect_options())
        try:
            await nc.jetstream().publish(subject, data)
        finally:
            await nc.close()

    asyncio.run(publish())


def post_pii(harness: Harness, text: str = "card 4539 1488 0343 6467", **kwargs: Any) -> dict[str, Any]:
    payload = slack_events.message_event(text, **kwargs)
    answer = harness.post(payload)
    assert answer.status == 200, answer
    return payload


# -- poison messages -------------------------------------------------------------

@pytest.mark.parametrize("garbage", [b"\xff\xfe not a protobuf \x00\x01", b"\x0a\x05Ev"])
def test_poison_event_is_dead_lettered_and_worker_survives(harness: Harness, garbage: bytes) -> None:
    before = {d["seq"] for d in dead_letters(harness)}
    publish_raw(harness, events_subject("T0001"), garbage)
    letter = dead_letter_for(harness, lambda d: d["seq"] not in before and d["stage"] == "detection")
    assert letter["reason"].startswith("undecodable message")
    payload = post_pii(harness)
    wait_for(lambda: harness.deletes_of(payload["event"]["ts"]))


def test_event_missing_fields_is_dead_lettered(harness: Harness) -> None:
    before = {d["seq"] for d in dead_letters(harness)}
    incomplete = event_pb2.Event(event_id="EvNOTS", workspace_id="T0001", text="hello")
    publish_raw(harness, events_subject("T0001"), incomplete.SerializeToString())
    letter = dead_letter_for(harness, lambda d: d["seq"] not in before)
    assert letter["stage"] == "detection" and "InvalidPayload" in letter["reason"]


def test_poison_verdict_is_dead_lettered_by_action(harness: Harness) -> None:
    before = {d["seq"] for d in dead_letters(harness)}
    publish_raw(harness, verdicts_subject("T0001"), b"\x12\x03abc truncated")
    letter = dead_letter_for(harness, lambda d: d["seq"] not in before)
    assert letter["stage"] == "action" and letter["reason"].startswith("undecodable message")


# -- Slack's answers ---------------------------------------------------------------

def test_rate_limit_is_waited_out_and_acted_on_once(harness: Harness) -> None:
    harness.slack.inject(Fault("chat.delete", count=3, status=429, retry_after=1))
    payload = post_pii(harness)
    ts = payload["event"]["ts"]
    wait_for(lambda: ts in {t for _, t in harness.slack.deleted_messages()}, timeout=40)
    wait_for(lambda: harness.dms_about(ts), timeout=20)
    harness.quiet()  # nothing left in flight that could act again
    assert len(harness.dms_about(ts)) == 1


def test_server_errors_are_retried(harness: Harness) -> None:
    harness.slack.inject(Fault("chat.postMessage", count=4, status=500))
    payload = post_pii(harness, user="URETRY")
    ts = payload["event"]["ts"]
    wait_for(lambda: harness.dms_about(ts) and any(
        c.args.get("channel") == "DURETRY" for c in harness.slack.calls("chat.postMessage")), timeout=40)
    harness.quiet()
    assert len(harness.deletes_of(ts)) == 1
    delivered = [c for c in harness.dms_about(ts)]
    # 4 refused attempts may reach the stand-in, exactly one was accepted.
    assert len(delivered) >= 1
    assert len({c.at for c in delivered}) == len(delivered)


def test_permanent_error_is_dead_lettered_then_replayed(harness: Harness) -> None:
    harness.slack.fail_permanently("chat.delete", "channel", "CGONE", "channel_not_found")
    payload = post_pii(harness, channel="CGONE")
    event_id = payload["event_id"]
    letter = dead_letter_for(harness, lambda d: d["correlation_id"] == event_id)
    assert letter["stage"] == "action"
    assert letter["reason"] == "slack chat.delete: channel_not_found"

    shown = cli(harness, "dlq", "show", str(letter["seq"]))
    assert shown.returncode == 0
    detail = json.loads(shown.stdout)
    assert detail["payload"]["channel"] == "CGONE" and "4539" not in shown.stdout

    history = cli(harness, "events", event_id)
    assert history.returncode == 0
    for step in ("received", "scanned", "dead_lettered"):
        assert step in history.stdout
    assert "CREDIT_CARD" in history.stdout and "4539" not in history.stdout

    harness.slack.clear_failures()  # the channel is back
    replay = cli(harness, "dlq", "replay", str(letter["seq"]))
    assert replay.returncode == 0, replay.stderr
    wait_for(lambda: ("CGONE", payload["event"]["ts"]) in harness.slack.deleted_messages())
    assert all(d["seq"] != letter["seq"] for d in dead_letters(harness))


def test_audit_trail_over_grpc(harness: Harness) -> None:
    payload = post_pii(harness, user="UAUDIT")
    wait_for(lambda: harness.dms_about(payload["event"]["ts"]))

    def steps() -> set[str]:
        with harness.pipeline.channel("ingest", "admin") as channel:
            answer = audit_pb2_grpc.AuditStub(channel).GetEventHistory(
                audit_pb2.GetEventHistoryRequest(correlation_id=payload["event_id"]), timeout=10)
        return {audit_pb2.LifecycleStep.Name(r.step) for r in answer.records}

    wanted = {"LIFECYCLE_STEP_RECEIVED", "LIFECYCLE_STEP_SCANNED", "LIFECYCLE_STEP_DELETED",
              "LIFECYCLE_STEP_NOTIFIED"}
    wait_for(lambda: wanted <= steps())


# -- bad input -------------------------------------------------------------------

def test_enormous_body_is_refused(harness: Harness) -> None:
    payload = slack_events.message_event("x" * (2 * 1024 * 1024))
    assert harness.post(payload).status == 413


def test_pathological_text_is_scanned_in_bounded_time_or_dead_lettered(harness: Harness) -> None:
    texts = {"EvDIGITS": "7" * 50_000, "EvMEGA": ("lorem ipsum dolor 12345 " * 44_000)[:1_000_000]}
    submitter = harness.pipeline.caller_certificate(SUBMITTER)
    with harness.pipeline.channel("ingest", certificate=submitter,
                                  options=[("grpc.max_send_message_length", 8 * 1024 * 1024)]) as channel:
        stub = ingest_pb2_grpc.IngestStub(channel)
        for event_id, text in texts.items():
            stub.SubmitEvent(ingest_pb2.SubmitEventRequest(event=event_pb2.Event(
                event_id=event_id, workspace_id="T0001", channel_id="C0001", user_id="U1",
                ts=f"{time.time():.6f}", text=text)), timeout=20)

    def settled(event_id: str) -> bool:
        history = cli(harness, "events", event_id).stdout
        return "scanned" in history or "dead_lettered" in history

    for event_id in texts:
        wait_for(lambda event_id=event_id: settled(event_id), timeout=90, interval=1.0)
    payload = post_pii(harness)  # the worker lives on
    wait_for(lambda: harness.deletes_of(payload["event"]["ts"]), timeout=60)


def test_ingest_answers_503_while_nats_is_down(harness: Harness) -> None:
    harness.pipeline.nats.kill()
    try:
        payload = slack_events.message_event("card 4539 1488 0343 6467")
        answer = harness.post(payload)
        assert answer.status == 503
    finally:
        harness.pipeline.nats.start()
    # Slack retries; once NATS is back the same event is accepted and handled.
    retried = wait_for(lambda: (a := harness.post(payload, retry_num=1)).status == 200 and a, timeout=30)
    assert retried
    wait_for(lambda: harness.deletes_of(payload["event"]["ts"]), timeout=60)


def test_sigterm_lets_in_flight_work_finish_without_doing_it_twice(harness: Harness) -> None:
    harness.slack.inject(Fault("chat.postMessage", count=1, delay=3.0))
    payload = post_pii(harness, user="USIGTERM")
    ts = payload["event"]["ts"]
    wait_for(lambda: any(c.args.get("channel") == "DUSIGTERM"
                         for c in harness.slack.calls("chat.postMessage")))
    code = harness.pipeline.terminate("action")  # the DM is in flight at Slack
    assert code == 0
    harness.pipeline.restart("action", kill=False)
    wait_for(lambda: harness.slack.notices() and any(n["ts"] == ts for n in harness.slack.notices()))
    harness.quiet()
    assert [n["ts"] for n in harness.slack.notices()].count(ts) == 1
    assert len(harness.deletes_of(ts)) == 1


def test_revoked_token_is_dead_lettered_and_action_turns_unhealthy(harness: Harness) -> None:
    harness.slack.inject(Fault("chat.delete", count=1, error="token_revoked"))
    payload = post_pii(harness)
    letter = dead_letter_for(harness, lambda d: d["correlation_id"] == payload["event_id"])
    assert letter["reason"] == "slack chat.delete: token_revoked (SLACK_ADMIN_TOKEN)"

    def status() -> int:
        with harness.pipeline.channel("action", "admin") as channel:
            return int(health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="piiguard.v1.Action"), timeout=5).status)

    wait_for(lambda: status() == health_pb2.HealthCheckResponse.NOT_SERVING)
    assert "SLACK AUTH FAILURE" in harness.pipeline.log_path("action").read_text()
