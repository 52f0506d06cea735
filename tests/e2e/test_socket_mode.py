"""Slack events over Socket Mode, end to end: the real slack_sdk Socket Mode client
in ingest, talking to the stand-in's websockets, with the whole pipeline behind it.

An envelope is acknowledged only once its event is durable in JetStream; what is
not acknowledged Slack delivers again (the stand-in's ``redeliver``), and every
copy collapses on ``event_id``: each message is deleted and its author told once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import slack_events
from tests.support.slack_standin import SlackStandIn
from tests.support.socket_mode import SocketModeHub

from .conftest import Harness, running_pipeline, wait_for

pytestmark = pytest.mark.e2e

CARD_TEXT = "my card is 4539 1488 0343 6467 exp 04/28"
APP_TOKEN = "xapp-1-A0001-1-standin-app-token"


@pytest.fixture(scope="module")
def socket_harness(tmp_path_factory: pytest.TempPathFactory, slack: SlackStandIn) -> Iterator[Harness]:
    policy = "workspace:\n  teamId: T0001\n"
    env = {"PIIGUARD_SLACK_MODE": "socket", "SLACK_APP_TOKEN": APP_TOKEN}
    with running_pipeline(Path(tmp_path_factory.mktemp("socket")), slack, policy, env) as harness:
        wait_for(lambda: slack.socket_mode.connections() >= 1, timeout=30)
        yield harness


def hub(harness: Harness) -> SocketModeHub:
    return harness.slack.socket_mode


def card_message(channel: str = "C0001") -> tuple[dict, str]:
    payload = slack_events.message_event(CARD_TEXT, user="UCAROL", channel=channel)
    return payload, payload["event"]["ts"]


def acted_on_once(harness: Harness, ts: str) -> None:
    wait_for(lambda: harness.deletes_of(ts), timeout=60)
    wait_for(lambda: harness.dms_about(ts), timeout=60)
    harness.quiet()  # nothing left in flight that could act again
    assert len(harness.deletes_of(ts)) == 1, "deleted more than once"
    assert len(harness.dms_about(ts)) == 1, "author told more than once"


def test_connects_with_the_app_token(socket_harness: Harness) -> None:
    opened = socket_harness.slack.calls("apps.connections.open")
    assert opened and {c.token for c in opened} == {APP_TOKEN}
    assert "Socket Mode (1 connection(s))" in socket_harness.pipeline.output()


def test_card_number_over_socket_mode_is_deleted_and_author_told_once(socket_harness: Harness) -> None:
    payload, ts = card_message()
    envelope_id = hub(socket_harness).send_event(payload)

    wait_for(lambda: hub(socket_harness).acked(envelope_id), timeout=30)
    acted_on_once(socket_harness, ts)
    assert socket_harness.dms_about(ts)[0].args["channel"] == "DUCAROL"
    assert "RECEIVED" in socket_harness.steps(payload["event_id"])


def test_retried_envelope_is_acted_on_once(socket_harness: Harness) -> None:
    payload, ts = card_message()
    envelope_id = hub(socket_harness).send_event(payload)
    wait_for(lambda: hub(socket_harness).acked(envelope_id), timeout=30)

    hub(socket_harness).redeliver(envelope_id)  # retry_attempt 1: Slack did not see the ack
    wait_for(lambda: len(hub(socket_harness).acks(envelope_id)) == 2, timeout=30)
    assert hub(socket_harness).envelope(envelope_id).retry_attempt == 1

    acted_on_once(socket_harness, ts)


def test_disconnect_and_dropped_sockets_lose_nothing(socket_harness: Harness) -> None:
    standin = hub(socket_harness)
    sent: list[tuple[str, str]] = []

    def send(count: int) -> None:
        for _ in range(count):
            payload, ts = card_message()
            wait_for(lambda: standin.connections() >= 1, timeout=30)
            sent.append((standin.send_event(payload), ts))

    send(3)
    opened = standin.connections_opened()
    assert standin.disconnect() >= 1  # Slack rotates the URL: the client opens a new one
    send(3)
    wait_for(lambda: standin.connections_opened() > opened, timeout=30)
    opened = standin.connections_opened()
    standin.drop()  # and a socket that just goes away
    wait_for(lambda: standin.connections_opened() > opened and standin.connections() >= 1, timeout=60)
    send(3)

    def all_acked() -> bool:
        if all(standin.acked(e) for e, _ in sent):
            return True
        standin.redeliver_unacked()  # as Slack: what was not acknowledged comes again
        return False

    wait_for(all_acked, timeout=90, interval=2.0)
    for _, ts in sent:
        acted_on_once(socket_harness, ts)


def test_http_endpoint_is_closed_in_socket_mode(socket_harness: Harness) -> None:
    payload, _ = card_message()
    answer = socket_harness.post(payload)
    assert answer.status == 404
    assert socket_harness.never_published(payload["event_id"])


def test_envelope_is_acknowledged_only_once_durable(socket_harness: Harness) -> None:
    standin = hub(socket_harness)
    pipeline = socket_harness.pipeline
    pipeline.nats.stop()  # JetStream unavailable: nothing can be made durable
    try:
        payload, ts = card_message()
        envelope_id = standin.send_event(payload)
        event_id = payload["event_id"]
        wait_for(lambda: f"could not accept {event_id}" in pipeline.output(), timeout=60)
        assert not standin.acked(envelope_id)
    finally:
        pipeline.nats.start(log_file=pipeline.log_path("nats-server"))

    def acked_after_redelivery() -> bool:
        if standin.acked(envelope_id):
            return True
        standin.redeliver(envelope_id)
        return False

    wait_for(acked_after_redelivery, timeout=90, interval=2.0)
    acted_on_once(socket_harness, ts)
    assert CARD_TEXT not in pipeline.output() and "4539 1488" not in pipeline.output()
