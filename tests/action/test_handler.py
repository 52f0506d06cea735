"""The action handler's exactly-once bookkeeping, against real NATS and the real
slack_sdk talking to the Slack stand-in: the crash windows the chaos test hits
by chance, hit on purpose."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from piiguard.action.handler import ActionHandler, effect_key
from piiguard.action.notice import compose
from piiguard.action.slack import SlackGateway
from piiguard.errors import PermanentError, TransientError
from piiguard.jetstream import connect, ensure_topology
from piiguard.natsserver import NatsServer
from piiguard.policy import DEFAULT_POLICY
from piiguard.security.natsauth import HARNESS
from piiguard.v1 import action_pb2, detection_pb2, event_pb2
from tests.support.slack_standin import Fault, SlackStandIn

EVENT = event_pb2.Event(event_id="EvA1", workspace_id="T1", channel_id="C1", user_id="U1",
                        ts="1700000000.000100", text="card 4539 1488 0343 6467")
RESULT = detection_pb2.DetectionResult(
    event_id="EvA1", verdict=detection_pb2.VERDICT_DELETE,
    findings=[detection_pb2.Finding(entity_type="CREDIT_CARD", start=5, end=24, score=1.0)],
)
REQUEST = action_pb2.ActionRequest(event=EVENT, result=RESULT)
DONE, ALREADY = action_pb2.STEP_STATUS_DONE, action_pb2.STEP_STATUS_ALREADY_DONE


@pytest.fixture
async def handler(nats_server: NatsServer) -> AsyncIterator[tuple[ActionHandler, SlackStandIn]]:
    with SlackStandIn() as slack:
        nc = await connect(nats_server.url, name="test", auth=nats_server.auth(HARNESS))
        js = nc.jetstream()
        await ensure_topology(js)
        gateway = SlackGateway(admin_token="xoxp-a", bot_token="xoxb-b", base_url=slack.api_url)
        try:
            yield ActionHandler(js, gateway, lambda _: DEFAULT_POLICY), slack
        finally:
            await gateway.close()
            await nc.close()


async def test_redelivery_does_nothing_twice(handler: tuple[ActionHandler, SlackStandIn]) -> None:
    action, slack = handler
    first = await action.handle(REQUEST)
    second = await action.handle(REQUEST)
    assert (first.delete, first.notify) == (DONE, DONE)
    assert (second.delete, second.notify) == (ALREADY, ALREADY)
    assert len(slack.calls("chat.delete")) == 1 and len(slack.notices()) == 1


async def test_crash_after_posting_before_recording_does_not_dm_twice(
    handler: tuple[ActionHandler, SlackStandIn],
) -> None:
    action, slack = handler
    # The DM went out, then the process died before writing "notified".
    kv = await action.kv()
    await kv.put(effect_key(EVENT, "notify-pending"), b"EvA1")
    text, blocks, metadata = compose(EVENT, RESULT, DEFAULT_POLICY.actions.message)
    assert isinstance(action.slack, SlackGateway)
    await action.slack.post_message("DU1", text, blocks, metadata)

    outcome = await action.handle(REQUEST)

    assert outcome.notify == ALREADY
    assert len(slack.notices()) == 1


async def test_crash_before_posting_still_dms(handler: tuple[ActionHandler, SlackStandIn]) -> None:
    action, slack = handler
    kv = await action.kv()
    await kv.put(effect_key(EVENT, "notify-pending"), b"EvA1")  # died before posting
    outcome = await action.handle(REQUEST)
    assert outcome.notify == DONE
    assert len(slack.notices()) == 1


async def test_a_fresh_claim_held_elsewhere_backs_off(handler: tuple[ActionHandler, SlackStandIn]) -> None:
    action, slack = handler
    kv = await action.kv()
    await kv.put(effect_key(EVENT, "notify-pending"), f"EvA1 {time.time():.3f}".encode())
    with pytest.raises(TransientError, match="another delivery") as raised:
        await action.handle(REQUEST)
    assert raised.value.retry_after is not None and raised.value.retry_after > 0
    assert slack.notices() == []


async def test_two_deliveries_at_once_dm_once(handler: tuple[ActionHandler, SlackStandIn]) -> None:
    # A redelivery after a server restart can reach a second worker while the first
    # is still posting: only one of them may post.
    action, slack = handler
    slack.inject(Fault("chat.postMessage", count=1, delay=1.0))
    outcomes = await asyncio.gather(action.handle(REQUEST), action.handle(REQUEST),
                                    return_exceptions=True)
    assert sum(isinstance(o, TransientError) for o in outcomes) == 1
    assert len(slack.notices()) == 1


async def test_a_failed_post_lets_the_retry_take_over_at_once(
    handler: tuple[ActionHandler, SlackStandIn],
) -> None:
    # Slack refuses the DM (after slack_sdk's own retries): the next delivery must not
    # wait out the claim's lease; it checks the DM channel, then posts exactly once.
    action, slack = handler
    slack.inject(Fault("chat.postMessage", count=3, status=500))
    with pytest.raises(TransientError):
        await action.handle(REQUEST)
    assert slack.notices() == []
    outcome = await action.handle(REQUEST)
    assert (outcome.delete, outcome.notify) == (ALREADY, DONE)
    assert len(slack.notices()) == 1


async def test_message_already_gone_counts_as_deleted(handler: tuple[ActionHandler, SlackStandIn]) -> None:
    action, _slack = handler
    assert isinstance(action.slack, SlackGateway)
    await action.slack.delete_message(EVENT.channel_id, EVENT.ts)  # someone else deleted it
    outcome = await action.handle(REQUEST)
    assert outcome.delete == ALREADY and outcome.notify == DONE


async def test_unknown_workspace_is_a_permanent_failure(nats_server: NatsServer) -> None:
    nc = await connect(nats_server.url, name="test", auth=nats_server.auth(HARNESS))
    try:
        gateway = SlackGateway(admin_token="xoxp-a", bot_token="xoxb-b", base_url="http://127.0.0.1:9/api/")
        action = ActionHandler(nc.jetstream(), gateway, lambda _: None)
        with pytest.raises(PermanentError, match="no policy"):
            await action.handle(REQUEST)
        await gateway.close()
    finally:
        await nc.close()
