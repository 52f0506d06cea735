"""The dead-letter stream and the audit trail against a real nats-server: what a record
holds (kinds, counts, reasons — never text), how it is read back, replayed and purged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from nats.js import JetStreamContext

from piiguard.audit import AuditTrail, Step, event_history
from piiguard.deadletter import (
    DeadLetter,
    JetStreamDeadLetters,
    get_dead_letter,
    list_dead_letters,
    purge_dead_letters,
    replay_dead_letter,
)
from piiguard.jetstream import (
    STREAM_AUDIT,
    STREAM_EVENTS,
    connect,
    dead_letter_filter,
    dead_letter_subject,
    ensure_topology,
    read_subject,
)
from piiguard.natsserver import NatsServer
from piiguard.v1 import audit_pb2, detection_pb2, event_pb2

TEXT = "my card is 4539 1488 0343 6467"


@pytest_asyncio.fixture
async def js(tmp_path: Path) -> AsyncIterator[JetStreamContext]:
    with NatsServer(tmp_path / "nats") as server:
        nc = await connect(server.url, name="dlq-audit-test")
        try:
            jetstream = nc.jetstream()
            await ensure_topology(jetstream)
            yield jetstream
        finally:
            await nc.close()


def event(n: int, workspace: str = "T1") -> event_pb2.Event:
    return event_pb2.Event(event_id=f"Ev{n}", workspace_id=workspace, channel_id="C1", ts=f"{n}.0", text=TEXT)


def letter(n: int, stage: str = "detection", workspace: str = "T1") -> DeadLetter:
    return DeadLetter(stage=stage, workspace=workspace, correlation_id=f"Ev{n}", reason="no policy",
                      attempts=3, source_stream=STREAM_EVENTS, source_subject=f"piiguard.events.{workspace}",
                      source_seq=n, data=event(n, workspace).SerializeToString())


def test_a_dead_letter_says_everything_in_headers_and_round_trips() -> None:
    original = letter(7)
    headers = original.headers()
    assert headers["Nats-Msg-Id"] == "dlq:PIIGUARD_EVENTS:7:detection"
    assert DeadLetter.from_message(original.data, headers) == original
    assert len(DeadLetter(**{**original.__dict__, "reason": "x" * 2000}).headers()["Piiguard-Reason"]) == 500
    assert TEXT not in " ".join(headers.values())


def test_the_subject_layout_is_one() -> None:
    assert dead_letter_subject("detection", "T.1 *") == "piiguard.dlq.detection.T_1__"
    assert dead_letter_filter() == "piiguard.dlq.*.*"
    assert dead_letter_filter("action") == "piiguard.dlq.action.*"
    assert dead_letter_filter(workspace="T1") == "piiguard.dlq.*.T1"


async def test_dead_letters_are_listed_by_stage_replayed_and_purged(js: JetStreamContext) -> None:
    sink = JetStreamDeadLetters(js)
    for n, stage in ((1, "detection"), (2, "action"), (3, "detection")):
        await sink.put(letter(n, stage))
    await sink.put(letter(1))  # the same dead letter again (a redelivered give-up): stored once
    everything = await list_dead_letters(js)
    assert [s.letter.correlation_id for s in everything] == ["Ev1", "Ev2", "Ev3"]
    assert [s.letter.correlation_id for s in await list_dead_letters(js, "detection")] == ["Ev1", "Ev3"]
    shown = await get_dead_letter(js, everything[1].seq)
    assert shown.letter == letter(2, "action") and shown.time

    replayed = await replay_dead_letter(js, everything[0].seq)
    assert replayed.letter.correlation_id == "Ev1"
    back = [raw async for raw in read_subject(js, STREAM_EVENTS, "piiguard.events.T1")]
    assert [event_pb2.Event.FromString(raw.data or b"").event_id for raw in back] == ["Ev1"]
    assert back[0].headers is not None and back[0].headers["Nats-Msg-Id"] == f"Ev1:replay:{everything[0].seq}"
    assert [s.letter.correlation_id for s in await list_dead_letters(js)] == ["Ev2", "Ev3"]

    assert await purge_dead_letters(js, stage="action") == 1
    assert await purge_dead_letters(js) == 1
    assert await list_dead_letters(js) == []


async def test_an_events_audit_trail_holds_kinds_and_counts_never_text(js: JetStreamContext) -> None:
    trail = AuditTrail(js, "detection")
    e = event(5)
    findings = [detection_pb2.Finding(entity_type="CREDIT_CARD", start=11, end=30, score=1.0),
                detection_pb2.Finding(entity_type="CREDIT_CARD", start=40, end=59, score=1.0)]
    await trail.record(e, Step.LIFECYCLE_STEP_RETRIED, attempt=1, reason="slack: HTTP 503")
    for _ in range(2):  # a redelivery writes the same record: stored once
        await trail.record(e, Step.LIFECYCLE_STEP_SCANNED, verdict=detection_pb2.VERDICT_DELETE,
                           findings=findings)
    await AuditTrail(js, "detection").record(event(6), Step.LIFECYCLE_STEP_SCANNED)

    history = await event_history(js, "Ev5")
    assert [audit_pb2.LifecycleStep.Name(r.step) for r in history] == [
        "LIFECYCLE_STEP_RETRIED", "LIFECYCLE_STEP_SCANNED"]
    retried, scanned = history
    assert retried.attempt == 1 and retried.reason == "slack: HTTP 503" and retried.stage == "detection"
    assert [(c.entity_type, c.count) for c in scanned.entities] == [("CREDIT_CARD", 2)]
    assert [(f.start, f.end) for f in scanned.findings] == [(11, 30), (40, 59)]
    assert scanned.channel_id == "C1" and scanned.message_ts == "5.0" and scanned.workspace_id == "T1"
    stored = b"".join([raw.data async for raw in read_subject(js, STREAM_AUDIT, "piiguard.audit.>")])
    assert TEXT.encode() not in stored and b"4539" not in stored
