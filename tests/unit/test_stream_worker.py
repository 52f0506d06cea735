"""The stream worker's rules (the table in ``piiguard.stream_worker``), one case per row,
through a fake delivery and in-memory sinks: no NATS, milliseconds per case."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field

import pytest

from piiguard.audit import Step
from piiguard.contracts import decode_event
from piiguard.deadletter import DeadLetter
from piiguard.errors import PermanentError, TransientError
from piiguard.policy import QueueSettings
from piiguard.stream_worker import ConsumerSpec, MessageRules, backoff_delay
from piiguard.v1 import audit_pb2, detection_pb2, event_pb2

SETTINGS = QueueSettings(max_attempts=3, backoff=(1.0, 5.0), ack_wait=30.0)
EVENT = event_pb2.Event(event_id="Ev1", workspace_id="T1", channel_id="C1", ts="1.2", text="hello")


@dataclass
class FakeDelivery:
    data: bytes = EVENT.SerializeToString()
    attempt: int = 1
    subject: str = "piiguard.events.T1"
    headers: Mapping[str, str] | None = None
    stream: str = "PIIGUARD_EVENTS"
    sequence: int = 42
    calls: list[tuple[str, float | None]] = field(default_factory=list)

    async def ack(self) -> None:
        self.calls.append(("ack", None))

    async def nak(self, delay: float | None = None) -> None:
        self.calls.append(("nak", delay))

    async def term(self) -> None:
        self.calls.append(("term", None))

    async def in_progress(self) -> None:
        self.calls.append(("in_progress", None))

    def outcome(self) -> list[tuple[str, float | None]]:
        return [c for c in self.calls if c[0] != "in_progress"]


@dataclass
class Audit:
    records: list[tuple[str, int, str]] = field(default_factory=list)

    async def record(self, event: event_pb2.Event, step: audit_pb2.LifecycleStep.ValueType, *,
                     verdict: detection_pb2.Verdict.ValueType = detection_pb2.VERDICT_UNSPECIFIED,
                     findings: Iterable[detection_pb2.Finding] = (),
                     files: Iterable[detection_pb2.FileScan] = (),
                     attempt: int = 0, reason: str = "") -> None:
        self.records.append((Step.Name(step), attempt, reason))


@dataclass
class DeadLetters:
    broken: bool = False
    letters: list[DeadLetter] = field(default_factory=list)

    async def put(self, letter: DeadLetter) -> None:
        if self.broken:
            raise ConnectionError("DLQ unavailable")
        self.letters.append(letter)


def rules(handle: Callable[[event_pb2.Event], Awaitable[object]], audit: Audit, dlq: DeadLetters,
          settings: QueueSettings = SETTINGS) -> MessageRules[event_pb2.Event]:
    spec = ConsumerSpec("PIIGUARD_EVENTS", "detection", "piiguard.events.*", settings)
    return MessageRules(stage="detection", spec=spec, decode=decode_event, event_of=lambda e: e,
                        handle=handle, audit=audit, dead_letters=dlq)


def returns() -> Callable[[event_pb2.Event], Awaitable[object]]:
    async def handle(_: event_pb2.Event) -> None:
        return None
    return handle


def raises(exc: Exception) -> Callable[[event_pb2.Event], Awaitable[object]]:
    async def handle(_: event_pb2.Event) -> None:
        raise exc
    return handle


@dataclass(frozen=True)
class Case:
    handle: Callable[[], Callable[[event_pb2.Event], Awaitable[object]]]
    attempt: int = 1
    data: bytes = EVENT.SerializeToString()
    dlq_broken: bool = False
    outcome: tuple[tuple[str, float | None], ...] = ()
    audit: tuple[tuple[str, int, str], ...] = ()
    dead_letter_reason: str | None = None
    handler_runs: bool = True


CASES = {
    "handled: ack": Case(returns, outcome=(("ack", None),)),
    "permanent: dead-letter with its reason": Case(
        lambda: raises(PermanentError("no policy for this workspace")),
        outcome=(("term", None),),
        audit=(("LIFECYCLE_STEP_DEAD_LETTERED", 1, "no policy for this workspace"),),
        dead_letter_reason="no policy for this workspace"),
    "transient: nak with the first backoff": Case(
        lambda: raises(TransientError("slack chat.delete: HTTP 503")),
        outcome=(("nak", 1.0),),
        audit=(("LIFECYCLE_STEP_RETRIED", 1, "slack chat.delete: HTTP 503"),)),
    "transient, second attempt: the next backoff": Case(
        lambda: raises(TransientError("slack chat.delete: HTTP 503")), attempt=2,
        outcome=(("nak", 5.0),),
        audit=(("LIFECYCLE_STEP_RETRIED", 2, "slack chat.delete: HTTP 503"),)),
    "retry_after longer than the backoff wins": Case(
        lambda: raises(TransientError("slack chat.delete: rate limited", retry_after=30.0)),
        outcome=(("nak", 30.0),),
        audit=(("LIFECYCLE_STEP_RETRIED", 1, "slack chat.delete: rate limited"),)),
    "retry_after shorter than the backoff loses": Case(
        lambda: raises(TransientError("slack chat.delete: rate limited", retry_after=0.1)),
        outcome=(("nak", 1.0),),
        audit=(("LIFECYCLE_STEP_RETRIED", 1, "slack chat.delete: rate limited"),)),
    "unexpected error: retried, recorded by its class only": Case(
        lambda: raises(KeyError("4111 1111 1111 1111")),
        outcome=(("nak", 1.0),), audit=(("LIFECYCLE_STEP_RETRIED", 1, "KeyError"),)),
    "last attempt fails: dead-letter, gave up": Case(
        lambda: raises(TransientError("slack chat.delete: HTTP 503")), attempt=3,
        outcome=(("term", None),),
        audit=(("LIFECYCLE_STEP_DEAD_LETTERED", 3, "gave up after 3 attempts: slack chat.delete: HTTP 503"),),
        dead_letter_reason="gave up after 3 attempts: slack chat.delete: HTTP 503"),
    "delivered beyond max_attempts: dead-letter without running": Case(
        lambda: raises(AssertionError("must not run")), attempt=4, handler_runs=False,
        outcome=(("term", None),),
        audit=(("LIFECYCLE_STEP_DEAD_LETTERED", 4,
                "exceeded 3 attempts (worker lost during processing)"),),
        dead_letter_reason="exceeded 3 attempts (worker lost during processing)"),
    "poison (does not parse): dead-letter at once": Case(
        lambda: raises(AssertionError("must not run")), data=b"\xff\xff not protobuf", handler_runs=False,
        outcome=(("term", None),), dead_letter_reason="undecodable message: DecodeError"),
    "poison (parses, lacks fields): dead-letter at once": Case(
        lambda: raises(AssertionError("must not run")), handler_runs=False,
        data=event_pb2.Event(event_id="Ev2").SerializeToString(),
        outcome=(("term", None),), dead_letter_reason="undecodable message: InvalidPayload"),
    "dead letter cannot be written: redelivered": Case(
        lambda: raises(PermanentError("channel_not_found")), dlq_broken=True,
        outcome=(("nak", 1.0),)),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_the_rule_for_each_delivery(case: Case) -> None:
    audit, dlq = Audit(), DeadLetters(broken=case.dlq_broken)
    ran: list[bool] = []
    inner = case.handle()

    async def handle(event: event_pb2.Event) -> object:
        ran.append(True)
        return await inner(event)

    delivery = FakeDelivery(data=case.data, attempt=case.attempt)
    await rules(handle, audit, dlq).process(delivery)

    assert delivery.outcome() == list(case.outcome)
    assert audit.records == list(case.audit)
    assert bool(ran) == case.handler_runs
    if case.dead_letter_reason is None:
        assert dlq.letters == []
    else:
        [letter] = dlq.letters
        assert letter.reason == case.dead_letter_reason
        assert letter.data == case.data and letter.source_seq == 42 and letter.attempts == case.attempt
        assert letter.source_subject == "piiguard.events.T1" and letter.stage == "detection"
        assert "4111" not in letter.reason


async def test_shutdown_hands_the_message_back_at_once() -> None:
    started = asyncio.Event()

    async def handle(_: event_pb2.Event) -> None:
        started.set()
        await asyncio.sleep(60)

    delivery, audit, dlq = FakeDelivery(), Audit(), DeadLetters()
    task = asyncio.create_task(rules(handle, audit, dlq).process(delivery))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert delivery.outcome() == [("nak", None)] and audit.records == [] and dlq.letters == []


async def test_a_slow_handler_heartbeats_and_is_then_acked() -> None:
    heartbeats = asyncio.Event()
    delivery = FakeDelivery()

    async def handle(_: event_pb2.Event) -> None:
        while sum(c[0] == "in_progress" for c in delivery.calls) < 2:
            await asyncio.sleep(0.005)
        heartbeats.set()

    worker = rules(handle, Audit(), DeadLetters(), QueueSettings(ack_wait=0.03))
    worker.min_heartbeat = 0.01
    await asyncio.wait_for(worker.process(delivery), 5)
    assert heartbeats.is_set() and delivery.outcome() == [("ack", None)]
    calls_after = len(delivery.calls)
    await asyncio.sleep(0.05)
    assert len(delivery.calls) == calls_after, "the heartbeat stops with the handler"


def test_backoff_repeats_its_last_step() -> None:
    assert [backoff_delay(SETTINGS, n) for n in (0, 1, 2, 3, 9)] == [1.0, 1.0, 5.0, 5.0, 5.0]
    assert backoff_delay(QueueSettings(backoff=()), 3) == 1.0


def test_a_nats_message_is_a_delivery() -> None:
    from piiguard.stream_worker import Delivery, NatsDelivery

    def accepts(_: Delivery) -> None: ...

    accepts(NatsDelivery.__new__(NatsDelivery))  # statically checked by mypy
    accepts(FakeDelivery())




class EmptyConsumer:
    """A JetStream whose consumer never has a message: each fetch times out, as
    nats-py's does, sometimes with its own TimeoutError and sometimes with asyncio's."""

    def __init__(self, fetches_before_stop: int, stop: Callable[[], None]) -> None:
        self.binds = 0
        self.fetches = 0
        self.fetches_before_stop = fetches_before_stop
        self.stop = stop

    async def pull_subscribe_bind(self, durable: str, stream: str) -> EmptyConsumer:
        self.binds += 1
        return self

    async def fetch(self, batch: int, timeout: float) -> list[object]:
        import nats.errors

        self.fetches += 1
        if self.fetches >= self.fetches_before_stop:
            self.stop()
        await asyncio.sleep(0)
        raise (nats.errors.TimeoutError() if self.fetches % 2 else TimeoutError())

    async def consumer_info(self, stream: str, durable: str) -> object:
        raise TimeoutError()

    async def unsubscribe(self) -> None:
        pass


async def test_an_empty_fetch_is_not_an_outage(caplog: pytest.LogCaptureFixture) -> None:
    from piiguard.stream_worker import StreamWorker

    worker: StreamWorker[event_pb2.Event]
    js = EmptyConsumer(6, lambda: worker._stopping.set())
    worker = StreamWorker(js=js, stage="detection",  # type: ignore[arg-type]
                          spec=ConsumerSpec("PIIGUARD_EVENTS", "detection", "piiguard.events.T1", SETTINGS),
                          decode=decode_event, event_of=lambda event: event,
                          handle=lambda _: asyncio.sleep(0),
                          audit=Audit(), dead_letters=DeadLetters())  # type: ignore[arg-type]
    with caplog.at_level("INFO", logger="piiguard.stream_worker"):
        await asyncio.wait_for(worker.run(), 10)
    assert js.fetches == 6 and js.binds == 1, "an empty fetch kept the subscription"
    assert [r for r in caplog.records if r.levelname == "WARNING"] == []
