"""Stream retention has one owner (the settings) and the text-carrying streams are work
queues: checked against a real nats-server — what is applied, that a handled message
leaves at once, and that de-duplication, redelivery and dead-letter replay still work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nats.errors
import pytest
import pytest_asyncio
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js import api as js_api

from piiguard import settings
from piiguard.audit import AuditTrail
from piiguard.contracts import decode_event
from piiguard.deadletter import list_dead_letters, replay_dead_letter
from piiguard.errors import PermanentError
from piiguard.jetstream import (
    ALL_EVENTS,
    HEADER_MSG_ID,
    STREAM_AUDIT,
    STREAM_DLQ,
    STREAM_EVENTS,
    STREAM_VERDICTS,
    Retention,
    connect,
    ensure_topology,
    events_subject,
    stream_configs,
)
from piiguard.natsserver import NatsServer
from piiguard.policy import DEFAULT_POLICY, Policy, Queues, QueueSettings
from piiguard.stream_worker import ConsumerSpec, StreamWorker, ensure_consumer
from piiguard.v1 import event_pb2

WORK_QUEUE = js_api.RetentionPolicy.WORK_QUEUE


@pytest_asyncio.fixture
async def js(tmp_path: Path) -> AsyncIterator[JetStreamContext]:
    with NatsServer(tmp_path / "nats") as server:
        nc: NATS = await connect(server.url, name="retention-test")
        try:
            yield nc.jetstream()
        finally:
            await nc.close()


def event(n: int) -> event_pb2.Event:
    return event_pb2.Event(event_id=f"Ev{n}", workspace_id="T1", channel_id="C1", ts=f"{n}.0", text="x")


async def publish(js: JetStreamContext, n: int) -> Any:
    return await js.publish(events_subject("T1"), event(n).SerializeToString(), stream=STREAM_EVENTS,
                            headers={HEADER_MSG_ID: f"Ev{n}"})


async def state(js: JetStreamContext, stream: str = STREAM_EVENTS) -> Any:
    return (await js.stream_info(stream)).state


def test_the_defaults_keep_text_for_minutes_and_records_for_days() -> None:
    retention = Retention.from_settings(settings.load({}))
    by_name = {c.name: c for c in stream_configs(retention)}
    assert by_name[STREAM_EVENTS].max_age == by_name[STREAM_VERDICTS].max_age == 30 * 60
    assert by_name[STREAM_EVENTS].retention == by_name[STREAM_VERDICTS].retention == WORK_QUEUE
    assert by_name[STREAM_DLQ].max_age == 3 * 86400 and by_name[STREAM_AUDIT].max_age == 30 * 86400
    assert by_name[STREAM_DLQ].retention == by_name[STREAM_AUDIT].retention == js_api.RetentionPolicy.LIMITS
    # De-duplication must outlast Slack's retries (~0 s, 1 min, 5 min) within the retention.
    assert by_name[STREAM_EVENTS].duplicate_window == 15 * 60


def test_a_policy_may_only_lengthen_its_stream() -> None:
    base = Retention.from_settings(settings.load({"PIIGUARD_EVENTS_MAX_AGE": "20m"}))
    longer = Policy(queues=Queues(detection=QueueSettings(max_age=7200.0)))
    shorter = Policy(queues=Queues(action=QueueSettings(max_age=60.0)))
    lengthened = base.for_policies([DEFAULT_POLICY, longer, shorter])
    assert lengthened.events == 7200.0 and lengthened.verdicts == 30 * 60
    assert base.for_policies([]) == base


def test_the_operator_applies_the_same_retention_as_piiguard_up() -> None:
    import kopf

    from piiguard_operator.handlers import _longest_retention

    config = settings.load({"PIIGUARD_VERDICTS_MAX_AGE": "45m"})
    memo = kopf.Memo(config=config)
    local = Retention.from_settings(config).for_policies([DEFAULT_POLICY])
    assert _longest_retention(memo, {}, DEFAULT_POLICY) == {"detection": local.events,
                                                             "action": local.verdicts}
    assert _longest_retention(memo, {"detection": [0.0, 9000.0]}, DEFAULT_POLICY)["detection"] == 9000.0


async def test_a_handled_message_leaves_the_stream_and_its_duplicate_is_still_dropped(
    js: JetStreamContext,
) -> None:
    await ensure_topology(js, Retention.from_settings(settings.load({})))
    info = await js.stream_info(STREAM_EVENTS)
    assert info.config.retention == WORK_QUEUE and info.config.max_age == 30 * 60
    spec = ConsumerSpec(STREAM_EVENTS, "detection", ALL_EVENTS, QueueSettings())
    await ensure_consumer(js, spec)
    first = await publish(js, 1)
    sub = await js.pull_subscribe_bind("detection", stream=STREAM_EVENTS)
    [message] = await sub.fetch(1, timeout=5)
    await message.ack_sync()
    assert (await state(js)).messages == 0, "no text stays once the message is handled"
    # Slack retries the same event a minute later: de-duplicated although the original is gone.
    again = await publish(js, 1)
    assert again.duplicate and again.seq == first.seq
    assert (await state(js)).messages == 0
    with pytest.raises(nats.errors.TimeoutError):
        await sub.fetch(1, timeout=0.3)


async def test_a_nakd_message_stays_and_is_redelivered(js: JetStreamContext) -> None:
    await ensure_topology(js)
    await ensure_consumer(js, ConsumerSpec(STREAM_EVENTS, "detection", ALL_EVENTS, QueueSettings()))
    await publish(js, 2)
    sub = await js.pull_subscribe_bind("detection", stream=STREAM_EVENTS)
    [message] = await sub.fetch(1, timeout=5)
    await message.nak(delay=0.1)
    assert (await state(js)).messages == 1
    [again] = await sub.fetch(1, timeout=5)
    assert again.metadata.num_delivered == 2 and again.data == message.data
    await again.ack_sync()
    assert (await state(js)).messages == 0


async def test_a_dead_letter_leaves_the_work_stream_and_replays_to_its_stage(js: JetStreamContext) -> None:
    await ensure_topology(js)
    spec = ConsumerSpec(STREAM_EVENTS, "detection", ALL_EVENTS, QueueSettings(max_attempts=1))
    await ensure_consumer(js, spec)
    handled: list[str] = []
    refuse = True

    async def handle(e: event_pb2.Event) -> None:
        if refuse:
            raise PermanentError("no policy for this workspace")
        handled.append(e.event_id)

    worker = StreamWorker(js=js, stage="detection", spec=spec, decode=decode_event,
                          event_of=lambda e: e, handle=handle, audit=AuditTrail(js, "detection"))
    task = asyncio.create_task(worker.run())
    try:
        await publish(js, 3)
        letters = await _eventually(lambda: list_dead_letters(js, "detection"))
        assert [stored.letter.reason for stored in letters] == ["no policy for this workspace"]
        await _eventually(lambda: _empty(js))  # a dead-lettered message is not kept twice
        refuse = False
        await replay_dead_letter(js, letters[0].seq)
        await _eventually(lambda: _done(handled))
        assert handled == ["Ev3"]
        await _eventually(lambda: _empty(js))
        assert await list_dead_letters(js) == []
    finally:
        await worker.stop()
        await task


async def test_an_older_limits_stream_becomes_a_work_queue_when_empty_and_keeps_its_backlog_otherwise(
    js: JetStreamContext,
) -> None:
    retention = Retention.default()
    limits = [c for c in stream_configs(retention) if c.name in (STREAM_EVENTS, STREAM_VERDICTS)]
    for config in limits:
        config.retention = js_api.RetentionPolicy.LIMITS
        await js.add_stream(config)
    await js.publish("piiguard.verdicts.T1", b"queued before the upgrade", stream=STREAM_VERDICTS)
    await ensure_topology(js, retention)
    assert (await js.stream_info(STREAM_EVENTS)).config.retention == WORK_QUEUE
    verdicts = await js.stream_info(STREAM_VERDICTS)
    assert verdicts.config.retention == js_api.RetentionPolicy.LIMITS and verdicts.state.messages == 1


async def _empty(js: JetStreamContext) -> bool:
    return bool((await state(js)).messages == 0)


async def _done(items: list[str]) -> bool:
    return bool(items)


async def _eventually(probe: Any, timeout: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if value or asyncio.get_running_loop().time() > deadline:
            assert value, "condition not met"
            return value
        await asyncio.sleep(0.05)
