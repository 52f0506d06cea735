"""The stream consumer every stage runs: pull, decode, handle, ack — or retry, or
dead-letter. Never lose a message, never crash on one.

A message is acked only after its handler returned, that is after the stage's
work is durable (published downstream or done at Slack). The rules, one row per
case (``tests/unit/test_stream_worker.py`` checks each):

==============================================  ==============================================
the delivery                                    the worker
==============================================  ==============================================
handler returns                                 ``ack``
handler raises :class:`PermanentError`          dead-letter with its reason, ``term``
handler raises :class:`TransientError` or any   audit RETRIED, ``nak(delay)`` with the next
other error, attempt < ``max_attempts``         backoff (or ``retry_after`` if longer)
the same on attempt ``max_attempts``            dead-letter "gave up after N attempts: ...", ``term``
delivered beyond ``max_attempts`` (a worker     dead-letter "exceeded N attempts ...", ``term``,
was lost on the last attempt)                   the handler is not run
payload does not decode (a poison message)      dead-letter at once, ``term``
the dead letter cannot be written               ``nak(delay)``: redelivered, nothing lost
shutdown while the handler runs                 ``nak()`` at once: another worker takes it
a slow handler                                  ``in_progress`` every ``ack_wait / 3``
==============================================  ==============================================

The worker sees messages through :class:`Delivery` (data, metadata, ack, nak
with delay, term, in_progress) and writes to a :class:`DeadLetterSink` and an
:class:`AuditSink`, so these rules run in a unit test without NATS. The
consumer's ``max_deliver`` leaves room above ``max_attempts`` so a worker
killed on the last attempt still sees the message once more and dead-letters
it, instead of JetStream dropping it silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import NotFoundError
from opentelemetry import trace

from piiguard import delivery, metrics, telemetry
from piiguard.audit import AuditSink, AuditTrail, Step
from piiguard.deadletter import DeadLetter, DeadLetterSink, JetStreamDeadLetters
from piiguard.errors import PermanentError, SlackAuthError, TransientError, reason_of
from piiguard.jetstream import DELIVERY_HEADROOM
from piiguard.policy import QueueSettings
from piiguard.tasks import cancel_and_wait
from piiguard.v1 import event_pb2

log = logging.getLogger(__name__)

M = TypeVar("M")


class Delivery(Protocol):
    """One delivery of one stream message, as the worker needs it."""

    @property
    def data(self) -> bytes: ...

    @property
    def subject(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str] | None: ...

    @property
    def attempt(self) -> int:
        """1 for the first delivery."""
        ...

    @property
    def stream(self) -> str: ...

    @property
    def sequence(self) -> int:
        """The message's sequence in its stream (0 if unknown)."""
        ...

    async def ack(self) -> None: ...

    async def nak(self, delay: float | None = None) -> None: ...

    async def term(self) -> None: ...

    async def in_progress(self) -> None: ...


class NatsDelivery:
    """A JetStream message as a :class:`Delivery`."""

    def __init__(self, message: Msg) -> None:
        self.message = message

    @property
    def data(self) -> bytes:
        return self.message.data

    @property
    def subject(self) -> str:
        return self.message.subject

    @property
    def headers(self) -> Mapping[str, str] | None:
        return self.message.headers

    @property
    def attempt(self) -> int:
        return self.message.metadata.num_delivered or 1

    @property
    def stream(self) -> str:
        return self.message.metadata.stream or ""

    @property
    def sequence(self) -> int:
        sequence = self.message.metadata.sequence
        return sequence.stream if sequence else 0

    async def ack(self) -> None:
        await self.message.ack()

    async def nak(self, delay: float | None = None) -> None:
        await self.message.nak(delay=delay)

    async def term(self) -> None:
        await self.message.term()

    async def in_progress(self) -> None:
        await self.message.in_progress()


@dataclass(frozen=True)
class ConsumerSpec:
    stream: str
    durable: str
    filter_subject: str
    settings: QueueSettings
    # The workspace label of this consumer's backlog gauges ("all": every workspace).
    workspace: str = "all"

    def config(self) -> js_api.ConsumerConfig:
        settings = self.settings
        return js_api.ConsumerConfig(
            durable_name=self.durable,
            filter_subject=self.filter_subject,
            ack_policy=js_api.AckPolicy.EXPLICIT,
            deliver_policy=js_api.DeliverPolicy.ALL,
            ack_wait=settings.ack_wait,
            max_deliver=settings.max_attempts + DELIVERY_HEADROOM,
            max_ack_pending=settings.concurrency * 2,
            max_waiting=64,
        )


async def ensure_consumer(js: JetStreamContext, spec: ConsumerSpec) -> None:
    """Create the durable consumer, or bring its settings up to date."""
    await js.add_consumer(spec.stream, spec.config())


def backoff_delay(settings: QueueSettings, attempt: int) -> float:
    schedule = settings.backoff or (1.0,)
    return schedule[min(max(attempt, 1), len(schedule)) - 1]


class MessageRules(Generic[M]):
    """What happens to one delivery: the table in this module's docstring."""

    min_heartbeat = 0.5  # seconds: in_progress no more often than this

    def __init__(
        self,
        *,
        stage: str,
        spec: ConsumerSpec,
        decode: Callable[[bytes], M],
        event_of: Callable[[M], event_pb2.Event],
        handle: Callable[[M], Awaitable[object]],
        audit: AuditSink,
        dead_letters: DeadLetterSink,
        stamp: Callable[[M, Delivery], M] | None = None,
    ) -> None:
        """``stamp``: what of the delivery the handler sees besides the payload (a
        scheduled job: which firing it is)."""
        self.stage = stage
        self.spec = spec
        self.decode = decode
        self.stamp = stamp
        self.event_of = event_of
        self.handle = handle
        self.audit = audit
        self.dead_letters = dead_letters
        self._tracer = telemetry.tracer(f"piiguard.{stage}")

    @property
    def settings(self) -> QueueSettings:
        return self.spec.settings

    async def process(self, message: Delivery) -> None:
        attempt = message.attempt
        try:
            payload = self.decode(message.data)
            if self.stamp is not None:
                payload = self.stamp(payload, message)
            event = self.event_of(payload)
        except Exception as exc:  # any decode failure is a poison message
            await self._dead_letter(message, None, attempt, f"undecodable message: {type(exc).__name__}",
                                    "poison")
            return
        parent = telemetry.context_from_headers(message.headers)
        with self._tracer.start_as_current_span(
            f"{self.stage} process",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "piiguard.correlation_id": event.event_id,
                "piiguard.workspace": event.workspace_id,
                "piiguard.attempt": attempt,
                "messaging.system": "nats",
                "messaging.destination.name": self.spec.stream,
            },
        ) as span:
            if attempt > self.settings.max_attempts:
                await self._dead_letter(
                    message, event, attempt,
                    f"exceeded {self.settings.max_attempts} attempts (worker lost during processing)",
                    "attempts_exceeded",
                )
                return
            heartbeat = asyncio.create_task(self._heartbeat(message))
            delivery.enter(attempt, self.settings.max_attempts)
            try:
                await self.handle(payload)
            except asyncio.CancelledError:
                # Shutdown: hand the message back untouched, for another worker.
                with contextlib.suppress(Exception):
                    await message.nak()
                raise
            except PermanentError as exc:
                span.set_attribute("piiguard.outcome", "dead_lettered")
                await self._dead_letter(message, event, attempt, exc.reason,
                                        "auth" if isinstance(exc, SlackAuthError) else "permanent")
                return
            except Exception as exc:
                reason = reason_of(exc)
                if not isinstance(exc, TransientError):
                    # Where, not what: an exception's message may quote data.
                    frame = traceback.extract_tb(exc.__traceback__)[-1:] or None
                    where = f"{frame[0].filename}:{frame[0].lineno}" if frame else "?"
                    log.warning("%s handler failed for %s: %s at %s", self.stage, event.event_id,
                                type(exc).__name__, where)
                await self._retry_or_give_up(message, event, attempt, reason, exc)
                span.set_attribute("piiguard.outcome", "retried")
                return
            finally:
                heartbeat.cancel()
            await message.ack()
            span.set_attribute("piiguard.outcome", "done")

    async def _retry_or_give_up(
        self, message: Delivery, event: event_pb2.Event, attempt: int, reason: str, exc: Exception
    ) -> None:
        if attempt >= self.settings.max_attempts:
            await self._dead_letter(
                message, event, attempt, f"gave up after {attempt} attempts: {reason}",
                "retries_exhausted",
            )
            return
        delay = backoff_delay(self.settings, attempt)
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        with contextlib.suppress(Exception):
            await self.audit.record(event, Step.LIFECYCLE_STEP_RETRIED, attempt=attempt, reason=reason)
        await message.nak(delay=delay)
        metrics.RETRIES.labels(self.stage).inc()
        log.info("%s will retry %s in %.1fs (attempt %d): %s",
                 self.stage, event.event_id, delay, attempt, reason)

    async def _dead_letter(
        self, message: Delivery, event: event_pb2.Event | None, attempt: int, reason: str,
        reason_class: metrics.ReasonClass,
    ) -> None:
        letter = DeadLetter(
            stage=self.stage,
            workspace=event.workspace_id if event else "unknown",
            correlation_id=event.event_id if event else "",
            reason=reason,
            attempts=attempt,
            source_stream=message.stream or self.spec.stream,
            source_subject=message.subject,
            source_seq=message.sequence,
            data=message.data,
        )
        try:
            await self.dead_letters.put(letter)
            if event is not None:
                await self.audit.record(
                    event, Step.LIFECYCLE_STEP_DEAD_LETTERED, attempt=attempt, reason=reason
                )
        except Exception as exc:
            # Could not make the dead letter durable: leave the message to be redelivered.
            log.error("%s could not dead-letter a message (%s); will redeliver",
                      self.stage, type(exc).__name__)
            with contextlib.suppress(Exception):
                await message.nak(delay=backoff_delay(self.settings, attempt))
            return
        await message.term()
        metrics.DEAD_LETTERS.labels(self.stage, reason_class).inc()
        log.error("%s dead-lettered %s after %d attempt(s): %s",
                  self.stage, letter.correlation_id or "an undecodable message", attempt, reason)

    async def _heartbeat(self, message: Delivery) -> None:
        interval = max(self.settings.ack_wait / 3.0, self.min_heartbeat)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            while True:
                await asyncio.sleep(interval)
                await message.in_progress()


class LiveFirst:
    """The bulk lane's turn (swept history): it fetches only while no live worker
    is handling a message, and at most ``rate`` messages a second — so a backfill
    of any size takes only the time the live lane leaves idle. ``live_busy``
    answers whether any live worker is busy now (:attr:`StreamWorker.busy`)."""

    poll = 0.05  # seconds between looks at a busy live lane

    def __init__(self, rate: float, live_busy: Callable[[], bool], burst: float = 1.0) -> None:
        self.rate = rate
        self.live_busy = live_busy
        self.burst = max(burst, 1.0)
        self._tokens = self.burst
        self._at = asyncio.get_running_loop().time()

    def _refill(self) -> None:
        now = asyncio.get_running_loop().time()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    async def __call__(self, wanted: int) -> int:
        while True:
            while self.live_busy():
                await asyncio.sleep(self.poll)
            self._refill()
            if self._tokens >= 1.0:
                granted = min(wanted, int(self._tokens))
                self._tokens -= granted
                return granted
            await asyncio.sleep((1.0 - self._tokens) / self.rate)


class StreamWorker(Generic[M]):
    """Runs one stage's handler over one durable pull consumer."""

    def __init__(
        self,
        *,
        js: JetStreamContext,
        stage: str,
        spec: ConsumerSpec,
        decode: Callable[[bytes], M],
        event_of: Callable[[M], event_pb2.Event],
        handle: Callable[[M], Awaitable[object]],
        audit: AuditTrail,
        dead_letters: DeadLetterSink | None = None,
        gate: Callable[[int], Awaitable[int]] | None = None,
        stamp: Callable[[M, Delivery], M] | None = None,
    ) -> None:
        """``gate``: asked before each fetch with how many messages the worker could
        take; answers (when it is this worker's turn) how many it may: the bulk
        lane's :class:`LiveFirst`."""
        self.js = js
        self.gate = gate
        self.stage = stage
        self.rules = MessageRules(stage=stage, spec=spec, decode=decode, event_of=event_of,
                                  handle=handle, audit=audit,
                                  dead_letters=dead_letters or JetStreamDeadLetters(js), stamp=stamp)
        self._stopping = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._subscription: JetStreamContext.PullSubscription | None = None
        self._backlog_labels: tuple[str, str] | None = None

    @property
    def spec(self) -> ConsumerSpec:
        return self.rules.spec

    @spec.setter
    def spec(self, spec: ConsumerSpec) -> None:
        """New settings (a changed policy) apply to the next fetch."""
        self.rules.spec = spec

    @property
    def settings(self) -> QueueSettings:
        return self.rules.settings

    @property
    def busy(self) -> bool:
        """Handling a message now."""
        return bool(self._inflight)

    backlog_interval = 2.0  # seconds between refreshes of the backlog gauges

    async def run(self) -> None:
        """Fetch and handle until :meth:`stop`. Survives nats-server restarts."""
        backlog = asyncio.create_task(self._report_backlog())
        try:
            await self._fetch_loop()
        finally:
            await cancel_and_wait(backlog)
            await self._unsubscribe()
            self._forget_backlog()

    async def _report_backlog(self) -> None:
        """Keep piiguard_consumer_pending / _ack_pending of this consumer current,
        from JetStream's consumer info (what every replica of the stage sees alike)."""
        while True:
            spec = self.spec
            try:
                info = await self.js.consumer_info(spec.stream, spec.durable)
            except asyncio.CancelledError:
                raise
            except Exception:  # server away or consumer not created yet: keep the last figure
                pass
            else:
                labels = (self.stage, spec.workspace)
                metrics.CONSUMER_PENDING.labels(*labels).set(info.num_pending or 0)
                metrics.CONSUMER_ACK_PENDING.labels(*labels).set(info.num_ack_pending or 0)
                self._backlog_labels = labels
            await asyncio.sleep(self.backlog_interval)

    def _forget_backlog(self) -> None:
        labels = self._backlog_labels
        if labels is not None:  # a removed workspace leaves no stale series behind
            with contextlib.suppress(KeyError):
                metrics.CONSUMER_PENDING.remove(*labels)
                metrics.CONSUMER_ACK_PENDING.remove(*labels)

    async def _fetch_loop(self) -> None:
        subscription = None
        unavailable = False
        while not self._stopping.is_set():
            try:
                if subscription is None:
                    subscription = await self.js.pull_subscribe_bind(
                        durable=self.spec.durable, stream=self.spec.stream
                    )
                    self._subscription = subscription
                free = self.settings.concurrency - len(self._inflight)
                if free <= 0:
                    await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                if self.gate is not None:
                    free = await self.gate(free)
                    if free <= 0 or self._stopping.is_set():
                        continue
                try:
                    messages = await subscription.fetch(batch=free, timeout=1.0)
                except TimeoutError:  # nats-py raises its own or asyncio's: an empty fetch either way
                    continue
                for message in messages:
                    task = asyncio.create_task(self.rules.process(NatsDelivery(message)))
                    self._inflight.add(task)
                    task.add_done_callback(self._inflight.discard)
            except asyncio.CancelledError:
                raise
            except (NotFoundError, nats.errors.Error, OSError) as exc:
                # Server restarting, consumer not created yet or being recreated: rebind.
                if not unavailable:
                    log.warning("%s consumer %s unavailable (%s); retrying",
                                self.stage, self.spec.durable, type(exc).__name__)
                unavailable = True
                subscription = None
                await asyncio.sleep(0.5)
                continue
            unavailable = False

    async def _unsubscribe(self) -> None:
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()
            self._subscription = None

    async def stop(self, grace: float = 10.0) -> None:
        """Stop fetching; let in-flight work finish within ``grace``, nak the rest."""
        self._stopping.set()
        if self._inflight:
            _, pending = await asyncio.wait(set(self._inflight), timeout=grace)
            # Cancelled work naks its message, which another worker then takes.
            await asyncio.gather(*(cancel_and_wait(task) for task in pending))
