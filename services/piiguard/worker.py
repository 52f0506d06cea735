"""The stream consumer every stage runs: pull, decode, handle, ack — or retry, or
dead-letter. Never lose a message, never crash on one.

A message is acked only after its handler returned, that is after the stage's
work is durable (published downstream or done at Slack). What a handler raises
decides the rest:

- :class:`PermanentError`: retrying cannot help → dead-letter with its reason.
- anything else (:class:`TransientError` and unexpected errors) → ``nak`` with
  the next backoff delay, until ``max_attempts``; then dead-letter.
- a payload that does not decode (a poison message) → dead-letter at once.

While a handler runs, ``in_progress()`` heartbeats keep a slow but live worker
from being mistaken for a dead one. The consumer's ``max_deliver`` leaves room
above ``max_attempts`` so a worker that is killed on the last attempt still
sees the message once more and dead-letters it, instead of JetStream dropping
it silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import NotFoundError
from opentelemetry import trace

from piiguard import telemetry
from piiguard.audit import AuditTrail, Step
from piiguard.deadletter import DeadLetter, publish_dead_letter
from piiguard.jetstream import DELIVERY_HEADROOM
from piiguard.policy import QueueSettings
from piiguard.v1 import event_pb2

log = logging.getLogger(__name__)

M = TypeVar("M")


class PermanentError(Exception):
    """Retrying cannot help. ``reason`` is recorded; it must not hold message text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientError(Exception):
    """Worth retrying later; ``retry_after`` overrides the backoff (e.g. Slack's 429)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class ConsumerSpec:
    stream: str
    durable: str
    filter_subject: str
    settings: QueueSettings

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
    ) -> None:
        self.js = js
        self.stage = stage
        self.spec = spec
        self.decode = decode
        self.event_of = event_of
        self.handle = handle
        self.audit = audit
        self._stopping = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._subscription: JetStreamContext.PullSubscription | None = None
        self._tracer = telemetry.tracer(f"piiguard.{stage}")

    @property
    def settings(self) -> QueueSettings:
        return self.spec.settings

    async def run(self) -> None:
        """Fetch and handle until :meth:`stop`. Survives nats-server restarts."""
        try:
            await self._fetch_loop()
        finally:
            await self._unsubscribe()

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
                try:
                    messages = await subscription.fetch(batch=free, timeout=1.0)
                except nats.errors.TimeoutError:
                    continue
                for message in messages:
                    task = asyncio.create_task(self._process(message))
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
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    async def _process(self, message: Msg) -> None:
        attempt = message.metadata.num_delivered or 1
        try:
            payload = self.decode(message.data)
            event = self.event_of(payload)
        except Exception as exc:  # any decode failure is a poison message
            await self._dead_letter(message, None, attempt, f"undecodable message: {type(exc).__name__}")
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
                )
                return
            heartbeat = asyncio.create_task(self._heartbeat(message))
            try:
                await self.handle(payload)
            except asyncio.CancelledError:
                # Shutdown: hand the message back untouched, for another worker.
                with contextlib.suppress(Exception):
                    await message.nak()
                raise
            except PermanentError as exc:
                span.set_attribute("piiguard.outcome", "dead_lettered")
                await self._dead_letter(message, event, attempt, exc.reason)
                return
            except Exception as exc:
                reason = exc.reason if isinstance(exc, TransientError) else type(exc).__name__
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
        self, message: Msg, event: event_pb2.Event, attempt: int, reason: str, exc: Exception
    ) -> None:
        if attempt >= self.settings.max_attempts:
            await self._dead_letter(
                message, event, attempt, f"gave up after {attempt} attempts: {reason}"
            )
            return
        delay = backoff_delay(self.settings, attempt)
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        with contextlib.suppress(Exception):
            await self.audit.record(event, Step.LIFECYCLE_STEP_RETRIED, attempt=attempt, reason=reason)
        await message.nak(delay=delay)
        log.info("%s will retry %s in %.1fs (attempt %d): %s",
                 self.stage, event.event_id, delay, attempt, reason)

    async def _dead_letter(
        self, message: Msg, event: event_pb2.Event | None, attempt: int, reason: str
    ) -> None:
        meta = message.metadata
        letter = DeadLetter(
            stage=self.stage,
            workspace=event.workspace_id if event else "unknown",
            correlation_id=event.event_id if event else "",
            reason=reason,
            attempts=attempt,
            source_stream=meta.stream or self.spec.stream,
            source_subject=message.subject,
            source_seq=meta.sequence.stream if meta.sequence else 0,
            data=message.data,
        )
        try:
            await publish_dead_letter(self.js, letter)
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
        log.error("%s dead-lettered %s after %d attempt(s): %s",
                  self.stage, letter.correlation_id or "an undecodable message", attempt, reason)

    async def _heartbeat(self, message: Msg) -> None:
        interval = max(self.settings.ack_wait / 3.0, 0.5)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            while True:
                await asyncio.sleep(interval)
                await message.in_progress()
