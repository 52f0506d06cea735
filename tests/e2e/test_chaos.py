"""The promise, tested by killing things: once Slack has our 200, the event is
handled, and handled once.

A few thousand signed events (a third with PII, some re-sent as Slack retries,
some edited) are sent while every service process and nats-server itself are
SIGKILLed and restarted over and over, and the Slack stand-in answers with
429s, 500s and slow responses. At the end every PII message is deleted and its
author DM'd exactly once, no clean message is touched, every event's audit
trail is complete, and the dead-letter stream holds exactly the events made to
fail permanently.
"""

from __future__ import annotations

import asyncio
import collections
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js import api as js_api

from piiguard.jetstream import STREAM_AUDIT, STREAM_DLQ
from piiguard.natsserver import NatsServer
from piiguard.v1 import audit_pb2
from tests.support import slack_events
from tests.support.pipeline import Pipeline
from tests.support.slack_standin import Fault, SlackStandIn

from .conftest import wait_for

pytestmark = pytest.mark.e2e

EVENTS = int(os.environ.get("PIIGUARD_CHAOS_EVENTS", "2000"))
DOOMED_CHANNEL = "CGONE"  # chat.delete answers channel_not_found: must be dead-lettered
SENDERS = 6
# Fewer for the run with two processes per stage: twice the processes on the same cores.
REPLICATED_EVENTS = int(os.environ.get("PIIGUARD_CHAOS_REPLICATED_EVENTS", "600"))
SEND_SECONDS = float(os.environ.get("PIIGUARD_CHAOS_SECONDS", "60"))  # spread the load over the chaos
CHAOS_POLICY = """
queues:
  detection: {concurrency: 8, maxAttempts: 12, backoff: ["200ms", "500ms", "1s", "2s"], ackWait: 8s}
  action: {concurrency: 16, maxAttempts: 12, backoff: ["200ms", "500ms", "1s", "2s"], ackWait: 8s}
"""

CLEAN = [
    "standup moved to 10:30, same room",
    "the deploy of 4.12.1 went fine, thanks all",
    "can someone review PR 4512 before lunch?",
    "ticket 88231 is closed, the order ships tomorrow",
    "reminder: the offsite is on 2026-12-04",
    "coffee machine on 3rd floor is fixed",
    "build 20231104.3 is green again",
]


def luhn_card(rng: random.Random) -> str:
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    digits.append((10 - total % 10) % 10)
    raw = "".join(map(str, digits))
    return " ".join(raw[i:i + 4] for i in range(0, 16, 4))


@dataclass
class Planned:
    payload: dict[str, Any]
    pii: bool
    doomed: bool = False
    resend: bool = False
    edit_of: str | None = None


@dataclass
class Tally:
    accepted: set[str] = field(default_factory=set)
    posts: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def plan(rng: random.Random, count: int = EVENTS) -> list[Planned]:
    planned: list[Planned] = []
    for i in range(count):
        user = f"U{rng.randrange(60):03d}"
        kind = rng.random()
        if kind < 0.31:
            text = f"my card is {luhn_card(rng)} exp 0{rng.randrange(1, 9)}/29"
            doomed = i % 97 == 0
            channel = DOOMED_CHANNEL if doomed else f"C{rng.randrange(5):03d}"
            event = slack_events.message_event(text, user=user, channel=channel)
            planned.append(Planned(event, pii=True, doomed=doomed, resend=rng.random() < 0.1))
        elif kind < 0.36:
            # A clean message, then edited to hold a card: the edit must be deleted.
            ts = f"{1_800_000_000 + i}.{i:06d}"
            original = slack_events.message_event(rng.choice(CLEAN), user=user, ts=ts)
            planned.append(Planned(original, pii=False))
            edit = slack_events.edited_event(f"oops, it is {luhn_card(rng)}", rng.choice(CLEAN),
                                             ts=ts, user=user)
            planned.append(Planned(edit, pii=True, edit_of=ts))
        else:
            event = slack_events.message_event(rng.choice(CLEAN), user=user,
                                               channel=f"C{rng.randrange(5):03d}")
            planned.append(Planned(event, pii=False, resend=rng.random() < 0.05))
    return planned


def send_until_accepted(urls: list[str], secret: str, payload: dict[str, Any], tally: Tally,
                        deadline: float) -> None:
    """What Slack does: retry (with X-Slack-Retry-Num) until it gets a 2xx. Several
    ``urls`` (ingest replicas): each attempt goes to the next, as a load balancer
    routes around a pod that is down."""
    attempt = 0
    first = random.randrange(len(urls))
    while time.monotonic() < deadline:
        body, headers = slack_events.signed(secret, payload, retry_num=attempt or None)
        url = urls[(first + attempt) % len(urls)]
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    with tally.lock:
                        tally.accepted.add(payload["event_id"])
                        tally.posts += 1
                    return
        except (urllib.error.URLError, OSError, TimeoutError):
            pass
        with tally.lock:
            tally.refused += 1
        attempt += 1
        time.sleep(0.2)
    raise AssertionError(f"event {payload['event_id']} never accepted")


class Chaos(threading.Thread):
    """SIGKILLs and restarts a random process every few seconds."""

    def __init__(self, pipeline: Pipeline, rng: random.Random,
                 victims: list[str] | None = None) -> None:
        super().__init__(name="chaos", daemon=True)
        self.pipeline = pipeline
        self.rng = rng
        self.victims = victims or ["ingest", "detection", "action", "action", "detection", "nats-server"]
        self.stopping = threading.Event()
        self.kills: collections.Counter[str] = collections.Counter()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopping.wait(self.rng.uniform(2.0, 4.0)):
                victim = self.rng.choice(self.victims)
                self.kills[victim] += 1
                if victim == "nats-server":
                    assert isinstance(self.pipeline.nats, NatsServer)
                    self.pipeline.nats.kill()
                    time.sleep(self.rng.uniform(0.2, 1.5))
                    self.pipeline.nats.start()
                else:
                    self.pipeline.restart(victim, kill=True, wait=True)
        except BaseException as exc:  # surfaced by the test
            self.error = exc


def read_stream(pipeline: Pipeline, stream: str) -> list[Any]:
    async def read() -> list[Any]:
        nc = await nats.connect(pipeline.nats.url, **pipeline.nats_auth().connect_options())
        try:
            js = nc.jetstream()
            info = await js.stream_info(stream)
            total = info.state.messages
            if not total:
                return []
            sub = await js.pull_subscribe(
                "", stream=stream,
                config=js_api.ConsumerConfig(ack_policy=js_api.AckPolicy.NONE,
                                             deliver_policy=js_api.DeliverPolicy.ALL,
                                             inactive_threshold=30.0),
            )
            messages: list[Any] = []
            while len(messages) < total:
                try:
                    messages += await sub.fetch(batch=min(2000, total - len(messages)), timeout=5)
                except nats.errors.TimeoutError:
                    break
            return messages
        finally:
            await nc.close()

    return asyncio.run(read())


def chaos_pipeline_for(tmp_path: Path, stage_replicas: int) -> Iterator[tuple[Pipeline, SlackStandIn]]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(CHAOS_POLICY)
    with SlackStandIn() as slack:
        slack.fail_permanently("chat.delete", "channel", DOOMED_CHANNEL, "channel_not_found")
        pipeline = Pipeline(tmp_path / "pipeline", slack_api_url=slack.api_url, policy_path=policy,
                            stage_replicas=stage_replicas)
        pipeline.start(timeout=180)
        try:
            yield pipeline, slack
        finally:
            pipeline.stop()


@pytest.fixture
def chaos_pipeline(tmp_path: Path) -> Iterator[tuple[Pipeline, SlackStandIn]]:
    yield from chaos_pipeline_for(tmp_path, 1)


@pytest.fixture
def replicated_pipeline(tmp_path: Path) -> Iterator[tuple[Pipeline, SlackStandIn]]:
    yield from chaos_pipeline_for(tmp_path, 2)


@pytest.mark.timeout(600)
def test_no_event_lost_none_acted_on_twice(chaos_pipeline: tuple[Pipeline, SlackStandIn]) -> None:
    pipeline, slack = chaos_pipeline
    rng = random.Random(20261123)
    run_chaos(pipeline, slack, plan(rng), Chaos(pipeline, rng), "chaos")


@pytest.mark.timeout(600)
def test_two_processes_per_stage_killed_independently(
        replicated_pipeline: tuple[Pipeline, SlackStandIn]) -> None:
    """Two processes of every stage share the consumers (and two ingest endpoints the
    load); any one of the six is SIGKILLed and restarted, independently of the others."""
    pipeline, slack = replicated_pipeline
    rng = random.Random(20261201)
    chaos = Chaos(pipeline, rng, victims=list(pipeline.instances))
    run_chaos(pipeline, slack, plan(rng, REPLICATED_EVENTS), chaos, "two per stage")
    assert sum(chaos.kills.values()) >= 4, dict(chaos.kills)  # the chaos really happened


def run_chaos(pipeline: Pipeline, slack: SlackStandIn, planned: list[Planned], chaos: Chaos,
              label: str) -> None:
    flaky = random.Random(7)
    slack.inject(Fault("chat.delete", count=60, status=429, retry_after=1,
                       when=lambda _: flaky.random() < 0.05))
    slack.inject(Fault("chat.postMessage", count=60, status=500, when=lambda _: flaky.random() < 0.05))
    slack.inject(Fault("conversations.open", count=40, delay=1.5, when=lambda _: flaky.random() < 0.05))

    tally = Tally()
    chaos.start()
    started = time.monotonic()
    deadline = started + 360
    work = list(planned) + [p for p in planned if p.resend]  # re-sends: Slack retries
    queue_lock = threading.Lock()
    interval = SEND_SECONDS / len(work)
    next_slot = [time.monotonic()]

    def sender() -> None:
        while True:
            with queue_lock:
                if not work:
                    return
                item = work.pop(0)
                slot = next_slot[0]
                next_slot[0] += interval
            time.sleep(max(0.0, slot - time.monotonic()))
            send_until_accepted(pipeline.events_urls, pipeline.signing_secret, item.payload, tally,
                                deadline)

    senders = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()
    sent_at = time.monotonic()

    expected_pii = {(p.payload["event"]["channel"], p.edit_of or p.payload["event"]["ts"])
                    for p in planned if p.pii and not p.doomed}
    doomed_ids = {p.payload["event_id"] for p in planned if p.doomed}

    def deleted() -> set[tuple[str, str]]:
        return slack.deleted_messages()

    # Keep the chaos going while the backlog drains, for two more kills, then let it finish.
    kills_when_sent = chaos.kills.total()
    wait_for(lambda: chaos.kills.total() >= kills_when_sent + 2 or chaos.error, timeout=60, interval=0.2)
    chaos.stopping.set()
    chaos.join(60)
    assert chaos.error is None, chaos.error
    wait_for(lambda: expected_pii <= deleted(), timeout=240, interval=1.0)
    soft_wait(lambda: len(slack.notices()) >= len(expected_pii), timeout=120)
    soft_wait(lambda: doomed_ids <= {d.letter_id for d in dead_letters(pipeline)}, timeout=60)
    # Nothing left in flight: every stage's consumer has nothing pending or unacknowledged,
    # so anything acted on twice has shown up by now.
    wait_for(pipeline.drained, timeout=120, interval=0.5)
    finished = time.monotonic()

    # Every PII message deleted (exactly once: Slack refuses a second delete), nothing else.
    assert deleted() == expected_pii
    # Every author DM'd exactly once per deleted message.
    notices = collections.Counter((n["channel"], n["ts"]) for n in slack.notices())
    missing = expected_pii - set(notices)
    assert not missing, diagnose(pipeline, planned, missing)
    duplicates = {k: v for k, v in notices.items() if v != 1}
    assert duplicates == {}
    # The dead-letter stream holds exactly the events made to fail permanently, with the reason.
    letters = dead_letters(pipeline)
    assert {d.letter_id for d in letters} == doomed_ids
    assert {d.reason for d in letters} == {"slack chat.delete: channel_not_found"}
    # Every accepted event's audit trail is complete.
    trails: dict[str, set[str]] = collections.defaultdict(set)
    for message in read_stream(pipeline, STREAM_AUDIT):
        record = audit_pb2.AuditRecord.FromString(message.data)
        trails[record.correlation_id].add(audit_pb2.LifecycleStep.Name(record.step))
    incomplete = []
    for item in planned:
        event_id = item.payload["event_id"]
        needed = {"LIFECYCLE_STEP_RECEIVED", "LIFECYCLE_STEP_SCANNED"}
        if item.doomed:
            needed.add("LIFECYCLE_STEP_DEAD_LETTERED")
        elif item.pii:
            needed |= {"LIFECYCLE_STEP_DELETED", "LIFECYCLE_STEP_NOTIFIED"}
        if not needed <= trails.get(event_id, set()):
            incomplete.append((event_id, sorted(needed - trails.get(event_id, set()))))
    assert incomplete == []
    assert tally.accepted == {p.payload["event_id"] for p in planned}

    print(
        f"\n{label}: {len(planned)} events ({len(expected_pii)} with PII, "
        f"{sum(p.resend for p in planned)} re-sent, {sum(bool(p.edit_of) for p in planned)} edits), "
        f"{tally.posts} accepted posts, {tally.refused} refused/failed posts retried; "
        f"kills: {dict(chaos.kills)}; slack calls: "
        f"{dict(collections.Counter(c.method for c in slack.calls()))}; "
        f"deleted {len(deleted())}, DM'd {sum(notices.values())}, dead-lettered {len(letters)}; "
        f"sent in {sent_at - started:.0f}s, settled in {finished - started:.0f}s"
    )


def soft_wait(probe: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not probe() and time.monotonic() < deadline:
        time.sleep(1.0)


def diagnose(pipeline: Pipeline, planned: list[Planned], missing: set[tuple[str, str]]) -> str:
    """What happened to the events whose author was not DM'd: their audit steps and dead letters."""
    ids = {p.payload["event_id"] for p in planned
           if (p.payload["event"]["channel"], p.edit_of or p.payload["event"]["ts"]) in missing}
    trails: dict[str, list[str]] = collections.defaultdict(list)
    for message in read_stream(pipeline, STREAM_AUDIT):
        record = audit_pb2.AuditRecord.FromString(message.data)
        if record.correlation_id in ids:
            trails[record.correlation_id].append(
                f"{record.stage}:{audit_pb2.LifecycleStep.Name(record.step)[15:]}:{record.reason}")
    letters = [d for d in dead_letters(pipeline) if d.letter_id in ids]
    return f"{len(missing)} not DM'd; trails={dict(trails)}; dead letters={letters}"


@dataclass(frozen=True)
class Letter:
    letter_id: str
    reason: str


def dead_letters(pipeline: Pipeline) -> list[Letter]:
    return [
        Letter(m.headers.get("Piiguard-Id", ""), m.headers.get("Piiguard-Reason", ""))
        for m in read_stream(pipeline, STREAM_DLQ)
    ]
