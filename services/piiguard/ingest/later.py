"""Events to scan later (``Event.not_before``): held in JetStream, released by ingest.

Ingest's handler publishes an event whose ``not_before`` is still ahead to
``piiguard.events.<ws>.later`` (the events stream, so its de-duplication window
covers it like any other event). This consumer, ``ingest-later``, holds each one
by a delayed redelivery — ``nak(delay)`` until its time, nothing polled, nothing
kept outside JetStream — and then publishes it onto its lane (live or bulk, by
its priority) and acknowledges it. A crash between the two publishes it again at
the next delivery; the lane's de-duplication id (``<id>.due``) keeps one.

``not_before`` is at most the events stream's backlog bound ahead (the handler
refuses more), so a held event never outlives its stream. Only ingest may
publish the work subjects: the release stays with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import NotFoundError

from piiguard.jetstream import (
    ALL_LATER,
    HEADER_MSG_ID,
    LATER_CONSUMER,
    STREAM_EVENTS,
    lane_subject,
)
from piiguard.tasks import cancel_and_wait
from piiguard.v1 import event_pb2

log = logging.getLogger(__name__)

HELD_AT_ONCE = 10_000  # events held (awaiting redelivery) at one time
RELEASE_EARLY = 0.05  # seconds: due now
UNAVAILABLE_WARN_AFTER = 15.0  # seconds the consumer is unreachable before it is a warning


def due_in(event: event_pb2.Event, now: datetime | None = None) -> float:
    """Seconds until ``event`` may be scanned (0 or less: now)."""
    if not event.HasField("not_before"):
        return 0.0
    now = now or datetime.now(UTC)
    return (event.not_before.ToDatetime(UTC) - now).total_seconds()


def consumer_config(ack_wait: float = 30.0) -> js_api.ConsumerConfig:
    return js_api.ConsumerConfig(
        durable_name=LATER_CONSUMER, filter_subject=ALL_LATER,
        ack_policy=js_api.AckPolicy.EXPLICIT, deliver_policy=js_api.DeliverPolicy.ALL,
        ack_wait=ack_wait, max_deliver=-1, max_ack_pending=HELD_AT_ONCE)


class LaterRelease:
    """Runs the ``ingest-later`` consumer until :meth:`stop`."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await cancel_and_wait(self._task)

    async def _run(self) -> None:
        subscription = None
        unavailable_since: float | None = None
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            try:
                if subscription is None:
                    with contextlib.suppress(Exception):  # exists: bind it as it is
                        await self.js.add_consumer(STREAM_EVENTS, consumer_config())
                    subscription = await self.js.pull_subscribe_bind(durable=LATER_CONSUMER,
                                                                     stream=STREAM_EVENTS)
                try:
                    messages = await subscription.fetch(batch=64, timeout=1.0)
                except TimeoutError:  # nats-py raises its own or asyncio's: an empty fetch either way
                    unavailable_since = None
                    continue  # nothing due: an empty fetch
                unavailable_since = None
                for message in messages:
                    await self._one(message)
            except asyncio.CancelledError:
                raise
            except (NotFoundError, nats.errors.Error, OSError) as exc:
                # A slow or restarting server is retried quietly; one that stays
                # away is worth a warning (held events wait meanwhile, nothing is lost).
                now = loop.time()
                if unavailable_since is None:
                    unavailable_since = now
                quiet = now - unavailable_since < UNAVAILABLE_WARN_AFTER
                log.log(logging.INFO if quiet else logging.WARNING,
                        "ingest-later unavailable (%s); retrying", type(exc).__name__)
                subscription = None
                await asyncio.sleep(0.5)

    async def _one(self, message: Msg) -> None:
        event = event_pb2.Event()
        try:
            event.ParseFromString(message.data)
        except Exception:
            await message.term()  # not an event: ingest published it, so never expected
            return
        wait = due_in(event)
        if wait > RELEASE_EARLY:
            await message.nak(delay=wait)
            return
        headers = {k: v for k, v in (message.headers or {}).items() if not k.startswith("Nats-")}
        original = (message.headers or {}).get(HEADER_MSG_ID, event.event_id)
        headers[HEADER_MSG_ID] = f"{original}.due"
        try:
            await self.js.publish(lane_subject(event.workspace_id, event.priority), message.data,
                                  stream=STREAM_EVENTS, headers=headers, timeout=2.0)
        except Exception as exc:
            log.warning("could not release %s (%s); will retry", event.event_id, type(exc).__name__)
            with contextlib.suppress(Exception):
                await message.nak(delay=1.0)
            return
        await message.ack()
        log.info("released %s into its lane", event.event_id)
