"""``piiguard sweep`` into the real pipeline (nats-server, ingest, detection, action
processes) against the Slack stand-in with the real slack_sdk: swept history is
deleted exactly once, whichever path saw a message first; an edit is scanned
again; a restart resumes from the durable progress; a 429 is waited out; and the
gRPC ``SubmitEvents`` answers each event with its own status."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from piiguard.v1 import event_pb2, ingest_pb2, ingest_pb2_grpc
from tests.e2e.conftest import EXCLUDED_CHANNEL, SUBMITTER, Harness, running_pipeline, wait_for
from tests.support import slack_events
from tests.support.slack_standin import Fault, SlackStandIn

CARD = "refund to 4539 1488 0343 6467 please"
SSN = "my SSN is 536-22-8471 for the form"
CLEAN = ["standup at ten", "ticket 4539 is closed", "build 4.2.1 is green"]
DAY = 86_400.0


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, slack: SlackStandIn) -> Iterator[Harness]:
    policy = (f"workspace:\n  teamId: T0001\ningestApi:\n  callers: [{SUBMITTER}]\n"
              f"channels:\n  exclude: [{EXCLUDED_CHANNEL}]\n")
    with running_pipeline(tmp_path_factory.mktemp("sweep"), slack, policy,
                          extra_env={"PIIGUARD_SWEEP_RATE": "500"}) as harness:
        yield harness


def message(ts: float, text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "user": "UALICE", "text": text, "ts": f"{ts:.6f}", **extra}


def sweep(harness: Harness, *args: str, wait: str = "180s") -> tuple[list[dict[str, Any]], str]:
    env = harness.pipeline.cli_env()  # as the operators' admin identity
    env["PIIGUARD_SWEEP_SLACK_RPM"] = "6000"
    policy = str(harness.pipeline.policy_path)
    result = subprocess.run([sys.executable, "-m", "piiguard", "sweep", "--policy", policy,
                             "--wait", wait, *args],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines()], result.stdout + result.stderr


def channel_line(lines: list[dict[str, Any]], channel: str) -> dict[str, Any]:
    return next(line["summary"] for line in lines if line.get("channel") == channel)


def test_a_message_the_events_api_never_delivered_is_deleted_exactly_once(harness: Harness) -> None:
    slack, now = harness.slack, time.time()
    card = message(now - DAY, CARD)
    parent = message(now - 2 * DAY, "payroll thread", reply_count=1, thread_ts=f"{now - 2 * DAY:.6f}")
    reply = message(now - 2 * DAY + 5, SSN, thread_ts=parent["ts"])
    clean = [message(now - 3 * DAY - i, CLEAN[i % 3]) for i in range(250)]  # two pages
    slack.add_history("CSWEEP1", [card, parent, *clean], replies={parent["ts"]: [reply]})
    slack.inject(Fault("conversations.replies", status=429, retry_after=1))

    lines, output = sweep(harness, "--channel", "CSWEEP1", "--since", "30d")

    tally = channel_line(lines, "CSWEEP1")
    assert tally["read"] == 253 and tally["submitted"] == 253 and tally["skipped"] == 0, tally
    assert tally["scanned"] == 253 and tally["acted_on"] == 2, lines
    assert tally["kinds"] == {"CREDIT_CARD": 1, "US_SSN": 1}
    assert lines[-1]["pending"] == 0
    assert len(harness.deletes_of(card["ts"])) == 1 and len(harness.deletes_of(reply["ts"])) == 1
    assert len(harness.dms_about(card["ts"])) == 1
    replies = slack.calls("conversations.replies")
    assert len(replies) == 2 and replies[1].at - replies[0].at >= 0.9, "Retry-After not honoured"
    for secret in ("4539 1488", "536-22-8471", CARD, SSN):
        assert secret not in output

    # The same window again: every message is known, nothing more is done.
    lines, _ = sweep(harness, "--channel", "CSWEEP1", "--since", "30d", wait="0")
    again = channel_line(lines, "CSWEEP1")
    assert again["submitted"] == 0 and again["skipped"] == 251, again  # the two deleted are gone
    harness.quiet()
    assert len(harness.deletes_of(card["ts"])) == 1 and len(harness.dms_about(card["ts"])) == 1


def test_a_message_first_seen_live_is_not_acted_on_again_by_the_sweep(harness: Harness) -> None:
    ts = f"{time.time() - 60:.6f}"
    payload = slack_events.message_event(CARD, channel="CSWEEP2", user="UALICE", ts=ts)
    assert harness.post(payload).status == 200
    wait_for(lambda: harness.dms_about(ts), timeout=60)
    # Slack still lists it (say the delete raced the sweep's read): the sweep skips it.
    harness.slack.add_history("CSWEEP2", [message(float(ts), CARD)])
    harness.slack.undelete("CSWEEP2", ts)

    lines, _ = sweep(harness, "--channel", "CSWEEP2", "--since", "1d", wait="0")

    tally = channel_line(lines, "CSWEEP2")
    assert tally["read"] == 1 and tally["skipped"] == 1 and tally["submitted"] == 0
    harness.quiet()
    assert len(harness.deletes_of(ts)) == 1 and len(harness.dms_about(ts)) == 1


def test_an_edited_message_is_scanned_again(harness: Harness) -> None:
    now = time.time()
    original = message(now - 600, "I will send the card number later")
    harness.slack.add_history("CSWEEP3", [original])
    lines, _ = sweep(harness, "--channel", "CSWEEP3", "--since", "1d")
    assert channel_line(lines, "CSWEEP3")["acted_on"] == 0

    harness.slack.edit_history("CSWEEP3", original["ts"], CARD, edited_ts=f"{now - 60:.6f}")
    lines, _ = sweep(harness, "--channel", "CSWEEP3", "--since", "1d")

    tally = channel_line(lines, "CSWEEP3")
    assert tally["submitted"] == 1 and tally["acted_on"] == 1, tally
    assert len(harness.deletes_of(original["ts"])) == 1


def test_a_restarted_sweep_resumes_where_it_stopped(harness: Harness) -> None:
    now = time.time()
    history = [message(now - 1000 - i, CLEAN[i % 3]) for i in range(450)]  # three pages of 200
    card = message(now - 1000 - 440, CARD)  # on the last page
    history[440] = card
    harness.slack.add_history("CSWEEP4", history)
    # Slack fails the third page for good: the sweep stops with two pages submitted.
    third_page = f"after:{history[399]['ts']}"
    harness.slack.inject(Fault("conversations.history", error="internal_error", count=1,
                               when=lambda args: str(args.get("cursor", "")) == third_page))
    lines, _ = sweep(harness, "--channel", "CSWEEP4", "--since", "1d", wait="0")
    first = channel_line(lines, "CSWEEP4")
    assert first["error"] == "internal_error" and first["read"] == 400, first
    before = len(harness.slack.calls("conversations.history"))

    lines, _ = sweep(harness, "--channel", "CSWEEP4", "--since", "1d")

    tally = channel_line(lines, "CSWEEP4")
    assert tally.get("resumed") is True and "error" not in tally
    resumed = harness.slack.calls("conversations.history")[before:]
    assert not resumed[0].args.get("cursor") and float(resumed[0].args["latest"]) < now - 1000 - 300
    assert tally["read"] - 400 < 200, "started over instead of resuming"  # 450 more if so
    assert tally["acted_on"] == 1 and len(harness.deletes_of(card["ts"])) == 1


def _event(event_id: str, channel: str = "CSWEEP5", **fields: Any) -> event_pb2.Event:
    return event_pb2.Event(event_id=event_id, workspace_id="T0001", channel_id=channel,
                           user_id="UAPI", ts=fields.pop("ts", f"{time.time():.6f}"),
                           channel_type=event_pb2.CHANNEL_TYPE_PUBLIC, **fields)


def test_submit_events_answers_each_event_with_its_own_status(harness: Harness) -> None:
    card_ts = f"{time.time():.6f}"
    later = Timestamp()
    later.FromSeconds(int(time.time()) + 2)
    far = Timestamp()
    far.FromSeconds(int(time.time()) + 7 * 86400)
    events = [
        _event("Ebulk1", ts=card_ts, text=CARD, priority=event_pb2.PRIORITY_BULK),
        _event("Ebulk1", ts=card_ts, text=CARD, priority=event_pb2.PRIORITY_BULK),  # again
        _event("Eexcluded", channel=EXCLUDED_CHANNEL, text=CARD),
        _event("Enots", ts="", text=CARD),  # no ts
        _event("Efar", text=CARD, not_before=far),
        _event("Elater", text=SSN, not_before=later, priority=event_pb2.PRIORITY_URGENT),
    ]
    with harness.pipeline.channel("ingest", certificate=harness.pipeline.caller_certificate(SUBMITTER)) as ch:
        stub = ingest_pb2_grpc.IngestStub(ch)
        answer = stub.SubmitEvents(ingest_pb2.SubmitEventsRequest(events=events), timeout=30)
        with pytest.raises(grpc.RpcError) as empty:
            stub.SubmitEvents(ingest_pb2.SubmitEventsRequest(), timeout=10)
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    results = list(answer.results)
    assert [r.response.status for r in results[:3]] == [
        ingest_pb2.SUBMIT_STATUS_ACCEPTED, ingest_pb2.SUBMIT_STATUS_DUPLICATE,
        ingest_pb2.SUBMIT_STATUS_IGNORED]
    invalid = grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert results[3].code == invalid and "ts" in results[3].error
    assert results[4].code == invalid and "not_before" in results[4].error
    assert results[5].response.status == ingest_pb2.SUBMIT_STATUS_ACCEPTED and results[5].code == 0
    for result in results:
        assert CARD not in result.error and SSN not in result.error
    # The bulk one is deleted once; the held one only once its time has come.
    wait_for(lambda: harness.deletes_of(card_ts), timeout=60)
    scanned = harness.scanned("Elater", timeout=60)
    assert scanned.time.seconds >= later.seconds - 1
    harness.quiet()
    assert len(harness.deletes_of(card_ts)) == 1
